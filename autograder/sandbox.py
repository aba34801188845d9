"""Confine the worker that runs a student's code.

Three layers, each used where the machine offers it, and each reported by name:

* **limits** (every POSIX system): address space, CPU time, file size, open files,
  processes and core dumps, set by the worker on itself before it imports torch, with
  the soft limit equal to the hard one so the student's code cannot raise them.
* **namespaces** (Linux, via ``unshare``): the worker starts in its own network
  namespace (no network at all, not even loopback) and its own mount namespace, where
  its scratch folder is a size-capped tmpfs, so a runaway writer fills memory it is
  allowed, not the disk.
* **landlock and seccomp** (Linux): just before the student's code is imported, the
  worker restricts itself. Landlock lets it read only what the student's code needs
  (Python and its packages, the kit's ``autograder`` package, the assignment's
  scenarios, the solution tree) and write only its scratch folder; signals and abstract
  sockets cannot reach a process outside it. A seccomp filter refuses new processes
  (threads are fine), sockets other than Unix ones, ptrace, signals to other processes
  and the system-administration calls; as root, the worker also drops every capability.
* **user** (a grader running as root, with ``AUTOGRADER_SANDBOX_USER`` set, as on
  Gradescope): just before the student's code is imported, the worker gives up root and
  becomes that user (``setgroups([])``, then its gid and uid, all three of each), after
  landlock and before seccomp. Its scratch folder is that user's; files only root may read
  (the reference and the hidden seed, which the Gradescope runner makes root-only) are out
  of reach whether landlock holds or not. The grading side first runs Python as that user
  (``sandbox_user()``): a user that cannot run this interpreter, import torch or read the
  solution would fail every check, so the switch is then left out and the report says why.

``detect()`` (grading side) says which layers this machine has; ``confine()`` (worker
side) applies landlock, seccomp and the capability drop and says what it applied. Where
a layer is missing, the grader prints one line saying so: it never degrades silently.
"""
import ctypes
import ctypes.util
import functools
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from autograder.i18n import _, tr

try:
    import resource   # POSIX only: Windows has no resource limits (the worker runs without)
except ImportError:
    resource = None

GiB = 1 << 30

# --- limits ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """Resource limits of one student worker (``None``: not limited)."""

    address_space: int = 8 * GiB   # RLIMIT_AS; importing a CUDA build of torch needs ~3.3 GB
    cpu_seconds: int = 1800        # RLIMIT_CPU, all threads together, for the worker's life
    file_size: int = 256 << 20     # RLIMIT_FSIZE: the largest file (or output) it may write
    open_files: int = 1024         # RLIMIT_NOFILE
    processes: int = 512           # RLIMIT_NPROC (only binds a non-root user)
    scratch: int = 512 << 20       # the size of its scratch folder, where a tmpfs is possible

    def to_env(self):
        return ",".join(f"{name}={'' if value is None else value}"
                        for name, value in self.__dict__.items())

    @classmethod
    def file_size_only(cls):
        """A trusted worker's limits: only the file size, so a runaway print cannot fill
        the disk through its capture file."""
        return cls(address_space=None, cpu_seconds=None, open_files=None, processes=None,
                   scratch=None)

    @classmethod
    def from_env(cls, text):
        if not text:
            return cls.file_size_only()
        values = {}
        for part in filter(None, (text or "").split(",")):
            name, _, value = part.partition("=")
            if name in cls.__dataclass_fields__:
                values[name] = int(value) if value else None
        return cls(**values)


_RLIMITS = {"address_space": "RLIMIT_AS", "cpu_seconds": "RLIMIT_CPU",  # name -> resource
            "file_size": "RLIMIT_FSIZE", "open_files": "RLIMIT_NOFILE",
            "processes": "RLIMIT_NPROC"}


def apply_limits(limits):
    """Set each limit (soft = hard) on this process; return the names that were set (none
    where the system has no resource limits, as on Windows)."""
    applied = []
    if resource is None:
        return applied
    for name, constant in _RLIMITS.items():
        value = getattr(limits, name)
        if value is None or not hasattr(resource, constant):
            continue
        which = getattr(resource, constant)
        try:
            _, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, value))
            applied.append(name)
        except (ValueError, OSError):
            pass
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):
        pass
    return applied


# --- what the machine offers (grading side) --------------------------------------------

@dataclass(frozen=True)
class Support:
    """The confinement layers this machine offers a student worker."""

    system: str
    namespaces: tuple = ()     # the unshare command prefix, or () when unavailable
    landlock_abi: int = 0      # 0: no landlock
    seccomp: bool = False
    notes: tuple = field(default_factory=tuple)
    user: "SandboxUser" = None  # the user student code runs as (the grader is root)
    user_problem: str = ""      # why a user asked for (AUTOGRADER_SANDBOX_USER) is not used

    @property
    def layers(self):
        names = ["limits"] if resource is not None else []   # none without rlimits
        if self.namespaces:
            names.append("namespaces (no network, tmpfs scratch)")
        if self.landlock_abi:
            names.append(f"landlock v{self.landlock_abi} (files)")
        if self.user is not None:
            names.append(self.user.layer)
        if self.seccomp:
            names.append("seccomp (processes, sockets, signals)")
        return names

    @property
    def hides_files(self):
        return self.landlock_abi > 0

    def warning(self):
        """One line for the report header when student code is not fully confined, else ''."""
        if any("turned off" in note for note in self.notes):
            return _("warning: the sandbox is turned off (AUTOGRADER_SANDBOX=0): student code "
                     "runs with your permissions, under limits and timeouts only.")
        lines = []
        if self.user_problem:
            lines.append(tr("warning: student code does not run as another user: {problem}.",
                            problem=self.user_problem))
        files = not self.hides_files and self.user is None
        network = not self.namespaces and not self.seccomp
        if files and network:
            could = _("read any file you can, use the network and start processes")
        elif files:
            could = _("read any file you can")
        elif network:
            could = _("use the network and start processes")
        else:
            could = ""
        where = _("this machine") if self.system == "Linux" else {"Darwin": "macOS"}.get(
            self.system, self.system)
        if could and self.user is not None:
            lines.append(tr("warning: student code on {where} runs as user {user} but could "
                            "{could} (limits and timeouts still apply).", where=where,
                            user=self.user.name, could=could))
        elif could:
            lines.append(tr("warning: no sandbox for student code on {where}: it runs with "
                            "your permissions and could {could} (limits and timeouts still "
                            "apply). Grades that count come from your instructor's run.",
                            where=where, could=could))
        return "\n".join(lines)


@functools.lru_cache(maxsize=1)
def detect():
    """Probe once per process which layers work here (a few milliseconds)."""
    system = platform.system()
    if os.environ.get("AUTOGRADER_SANDBOX", "").strip().lower() in ("0", "off", "no"):
        return Support(system, notes=("turned off by AUTOGRADER_SANDBOX=0",))
    if system != "Linux":
        return Support(system)
    return Support(system, namespaces=_namespace_prefix(), landlock_abi=landlock_abi(),
                   seccomp=_seccomp_filter_arch() is not None and _libc() is not None)


def _namespace_prefix():
    """``unshare --net --mount`` (plus a user namespace when not root) when it works here,
    else (). It execs the worker in place, so the worker stays the grader's own child."""
    unshare = shutil.which("unshare")
    if not unshare:
        return ()
    prefix = [unshare, "--net", "--mount"]
    if os.geteuid() != 0:
        prefix.insert(1, "--map-root-user")
    try:
        done = subprocess.run([*prefix, sys.executable, "-c", "pass"], capture_output=True,
                              timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(prefix) if done.returncode == 0 else ()


# --- Linux plumbing ----------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _libc():
    if platform.system() != "Linux":
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


def _syscall(number, *args):
    libc = _libc()
    result = libc.syscall(ctypes.c_long(number), *args)
    if result < 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    return result


def _prctl(option, arg2=0, arg3=0, arg4=0, arg5=0):
    libc = _libc()
    result = libc.prctl(ctypes.c_int(option), ctypes.c_ulong(arg2), ctypes.c_ulong(arg3),
                        ctypes.c_ulong(arg4), ctypes.c_ulong(arg5))
    if result < 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    return result


PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2


def die_with_parent(expected_parent):
    """Ask the kernel to kill this process when its parent dies (Linux); if the parent is
    already gone (it died before we asked), exit now."""
    if _libc() is None:
        return False
    try:
        _prctl(PR_SET_PDEATHSIG, 9)
    except OSError:
        return False
    if expected_parent and os.getppid() != expected_parent:
        os._exit(1)
    return True


CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000


def enter_namespaces():
    """Move this (single-threaded) process into new network and mount namespaces, through
    a user namespace when not root; True when it worked. Mounts made afterwards stay in it."""
    libc = _libc()
    if libc is None:
        return False
    uid, gid = os.geteuid(), os.getegid()
    flags = CLONE_NEWNET | CLONE_NEWNS | (0 if uid == 0 else CLONE_NEWUSER)
    if libc.unshare(ctypes.c_int(flags)) != 0:
        return False
    try:
        if uid != 0:
            for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"),
                               ("gid_map", f"0 {gid} 1")):
                with open(f"/proc/self/{name}", "w") as handle:
                    handle.write(text)
    except OSError:
        return False
    ms_rec, ms_private = 0x4000, 0x40000  # keep our mounts from reaching the host's
    return libc.mount(b"none", b"/", None, ctypes.c_ulong(ms_rec | ms_private), None) == 0


def mount_scratch(folder, size_bytes, owner=None):
    """Mount a tmpfs of ``size_bytes`` on ``folder`` (inside the worker's own mount
    namespace), owned by ``owner`` ((uid, gid); default: this process), and move into it;
    False where that is not possible."""
    libc = _libc()
    if libc is None:
        return False
    options = f"size={int(size_bytes)},mode=0700"
    if owner is not None:
        options += f",uid={int(owner[0])},gid={int(owner[1])}"
    options = options.encode()
    ms_nosuid, ms_nodev = 2, 4
    if libc.mount(b"tmpfs", os.fsencode(folder), b"tmpfs", ctypes.c_ulong(ms_nosuid | ms_nodev),
                  ctypes.c_char_p(options)) != 0:
        return False
    os.chdir(folder)
    return True


# --- landlock --------------------------------------------------------------------------

_LANDLOCK_CREATE, _LANDLOCK_ADD_RULE, _LANDLOCK_RESTRICT = 444, 445, 446  # same on x86_64 and arm64
_LANDLOCK_VERSION_FLAG = 1
_RULE_PATH_BENEATH = 1

FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
FS_REMOVE_DIR, FS_REMOVE_FILE, FS_MAKE_CHAR, FS_MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
FS_MAKE_REG, FS_MAKE_SOCK, FS_MAKE_FIFO, FS_MAKE_BLOCK = 1 << 8, 1 << 9, 1 << 10, 1 << 11
FS_MAKE_SYM, FS_REFER, FS_TRUNCATE, FS_IOCTL_DEV = 1 << 12, 1 << 13, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

_FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV


def landlock_abi():
    """The kernel's landlock ABI version, or 0 when landlock is not available."""
    if _libc() is None or platform.machine() not in ("x86_64", "aarch64"):
        return 0
    try:
        return int(_syscall(_LANDLOCK_CREATE, None, ctypes.c_size_t(0),
                            ctypes.c_uint32(_LANDLOCK_VERSION_FLAG)))
    except OSError:
        return 0


def _fs_rights(abi):
    rights = (1 << 13) - 1  # EXECUTE .. MAKE_SYM: ABI 1
    if abi >= 2:
        rights |= FS_REFER
    if abi >= 3:
        rights |= FS_TRUNCATE
    if abi >= 5:
        rights |= FS_IOCTL_DEV
    return rights


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


@dataclass
class FilePolicy:
    """What the confined worker may touch: read (and execute) under ``read``, read single
    files in ``read_files``, do anything under ``write``; ``devices`` are files it may
    read, write and (on a GPU) send ioctls to."""

    read: list = field(default_factory=list)
    read_files: list = field(default_factory=list)
    write: list = field(default_factory=list)
    devices: list = field(default_factory=list)


def apply_landlock(policy, abi):
    """Restrict this process (all its threads) to ``policy``; return the paths skipped."""
    handled = _fs_rights(abi)
    attr = _RulesetAttr(handled_access_fs=handled,
                        handled_access_net=(NET_BIND_TCP | NET_CONNECT_TCP) if abi >= 4 else 0,
                        scoped=(SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if abi >= 6 else 0)
    size = 8 if abi < 4 else (16 if abi < 6 else 24)
    ruleset = _syscall(_LANDLOCK_CREATE, ctypes.byref(attr), ctypes.c_size_t(size),
                       ctypes.c_uint32(0))
    read = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
    everything = handled
    device = (FS_READ_FILE | FS_WRITE_FILE | (FS_IOCTL_DEV if abi >= 5 else 0)
              | (FS_TRUNCATE if abi >= 3 else 0))
    skipped = []
    try:
        for paths, rights in ((policy.read, read), (policy.read_files, FS_READ_FILE | FS_EXECUTE),
                              (policy.write, everything), (policy.devices, device)):
            for path in paths:
                if os.path.exists(path) and not _add_path_rule(ruleset, path, rights & handled):
                    skipped.append(str(path))
        _prctl(PR_SET_NO_NEW_PRIVS, 1)
        _syscall(_LANDLOCK_RESTRICT, ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)
    return skipped


def _add_path_rule(ruleset, path, rights):
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if not os.path.isdir(path):
            rights &= _FILE_RIGHTS
        rule = _PathBeneath(allowed_access=rights, parent_fd=fd)
        _syscall(_LANDLOCK_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH),
                 ctypes.byref(rule), ctypes.c_uint32(0))
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


# --- seccomp ---------------------------------------------------------------------------

# x86_64 system call numbers (the filter is only installed where these are right).
_X86_64 = {
    "fork": 57, "vfork": 58, "clone": 56, "clone3": 435, "execve": 59, "execveat": 322,
    "socket": 41, "kill": 62, "tkill": 200, "tgkill": 234, "rt_sigqueueinfo": 129,
    "rt_tgsigqueueinfo": 297, "pidfd_send_signal": 424, "pidfd_open": 434, "pidfd_getfd": 438,
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312,
    "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "unshare": 272,
    "setns": 308, "reboot": 169, "kexec_load": 246, "kexec_file_load": 320,
    "init_module": 175, "finit_module": 313, "delete_module": 176, "swapon": 167,
    "swapoff": 168, "sethostname": 170, "setdomainname": 171, "settimeofday": 164,
    "clock_settime": 227, "clock_adjtime": 305, "adjtimex": 159, "iopl": 172, "ioperm": 173,
    "acct": 163, "bpf": 321, "open_by_handle_at": 304, "name_to_handle_at": 303,
    "keyctl": 250, "add_key": 248, "request_key": 249, "userfaultfd": 323,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "syslog": 103,
    "quotactl": 179, "fsopen": 430, "fsmount": 432, "move_mount": 429, "open_tree": 428,
    "mount_setattr": 442,
}
_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_SYSCALL_BIT = 0x40000000

_DENIED = ("fork", "vfork", "execve", "execveat", "tkill", "rt_sigqueueinfo",
           "rt_tgsigqueueinfo", "pidfd_send_signal", "pidfd_open", "pidfd_getfd", "ptrace",
           "process_vm_readv", "process_vm_writev", "kcmp", "mount", "umount2", "pivot_root",
           "chroot", "unshare", "setns", "reboot", "kexec_load", "kexec_file_load",
           "init_module", "finit_module", "delete_module", "swapon", "swapoff", "sethostname",
           "setdomainname", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "iopl",
           "ioperm", "acct", "bpf", "open_by_handle_at", "name_to_handle_at", "keyctl",
           "add_key", "request_key", "userfaultfd", "io_uring_setup", "io_uring_enter",
           "io_uring_register", "syslog", "quotactl", "fsopen", "fsmount", "move_mount",
           "open_tree", "mount_setattr")

_CLONE_THREAD = 0x00010000
_AF_UNIX = 1
_EPERM, _EACCES, _ENOSYS = 1, 13, 38

# classic BPF opcodes
_LD_W_ABS, _JEQ_K, _JSET_K, _RET_K = 0x20, 0x15, 0x45, 0x06
_RET_ALLOW, _RET_KILL_PROCESS = 0x7FFF0000, 0x80000000
_ARCH_OFFSET, _NR_OFFSET = 4, 0


def _arg_low(index):
    return 16 + 8 * index  # seccomp_data.args[index], low 32 bits (little-endian)


def _ret_errno(error):
    return 0x00050000 | error


def _seccomp_filter_arch():
    return _X86_64 if platform.machine() == "x86_64" else None


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


def _seccomp_program(table, pid):
    """The filter, as (code, jt, jf, k) tuples; jumps are resolved from labels."""
    program = []  # items: a tuple, or ("jump", code, k, label_true, label_false)
    labels = {}

    def emit(*item):
        program.append(item)

    def label(name):
        labels[name] = len(program)

    emit(_LD_W_ABS, 0, 0, _ARCH_OFFSET)
    emit("jump", _JEQ_K, _AUDIT_ARCH_X86_64, None, "kill")
    emit(_LD_W_ABS, 0, 0, _NR_OFFSET)
    emit("jump", _JSET_K, _X32_SYSCALL_BIT, "kill", None)
    for name in _DENIED:
        emit("jump", _JEQ_K, table[name], "eperm", None)
    emit("jump", _JEQ_K, table["clone3"], "enosys", None)
    emit("jump", _JEQ_K, table["clone"], "clone", None)
    emit("jump", _JEQ_K, table["socket"], "socket", None)
    emit("jump", _JEQ_K, table["kill"], "kill_call", None)
    emit("jump", _JEQ_K, table["tgkill"], "tgkill_call", None)
    emit(_RET_K, 0, 0, _RET_ALLOW)
    label("clone")  # threads share the process: allowed; a new process: refused
    emit(_LD_W_ABS, 0, 0, _arg_low(0))
    emit("jump", _JSET_K, _CLONE_THREAD, "allow", "eperm")
    label("socket")
    emit(_LD_W_ABS, 0, 0, _arg_low(0))
    emit("jump", _JEQ_K, _AF_UNIX, "allow", "eacces")
    label("kill_call")  # kill(pid, sig): only itself (or its own process group)
    emit(_LD_W_ABS, 0, 0, _arg_low(0))
    emit("jump", _JEQ_K, pid, "allow", None)
    emit("jump", _JEQ_K, 0, "allow", None)
    emit("jump", _JEQ_K, (-pid) & 0xFFFFFFFF, "allow", "eperm")
    label("tgkill_call")  # tgkill(tgid, tid, sig): a thread of its own
    emit(_LD_W_ABS, 0, 0, _arg_low(0))
    emit("jump", _JEQ_K, pid, "allow", "eperm")
    label("allow")
    emit(_RET_K, 0, 0, _RET_ALLOW)
    label("eperm")
    emit(_RET_K, 0, 0, _ret_errno(_EPERM))
    label("eacces")
    emit(_RET_K, 0, 0, _ret_errno(_EACCES))
    label("enosys")
    emit(_RET_K, 0, 0, _ret_errno(_ENOSYS))
    label("kill")
    emit(_RET_K, 0, 0, _RET_KILL_PROCESS)

    resolved = []
    for index, item in enumerate(program):
        if item[0] != "jump":
            resolved.append(item)
            continue
        _, code, k, on_true, on_false = item

        def offset(name):
            if name is None:
                return 0
            distance = labels[name] - index - 1
            if not 0 <= distance < 256:
                raise ValueError("seccomp jump out of range")
            return distance

        resolved.append((code, offset(on_true), offset(on_false), k))
    return resolved


def apply_seccomp():
    table = _seccomp_filter_arch()
    program = _seccomp_program(table, os.getpid())
    filters = (_SockFilter * len(program))(*[_SockFilter(*item) for item in program])
    fprog = _SockFprog(len(program), ctypes.cast(filters, ctypes.POINTER(_SockFilter)))
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    libc = _libc()
    if libc.prctl(ctypes.c_int(PR_SET_SECCOMP), ctypes.c_ulong(SECCOMP_MODE_FILTER),
                  ctypes.byref(fprog), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


# --- capabilities ----------------------------------------------------------------------

class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def drop_capabilities():
    """Give up every capability (a root worker keeps its uid, not root's powers)."""
    header = _CapHeader(0x20080522, 0)
    data = (_CapData * 2)()
    if _libc().capset(ctypes.byref(header), data) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


# --- the user switch -----------------------------------------------------------------------

SANDBOX_USER_ENV = "AUTOGRADER_SANDBOX_USER"


@dataclass(frozen=True)
class SandboxUser:
    """The unprivileged user a root grader runs student code as."""

    name: str
    uid: int
    gid: int

    @property
    def layer(self):
        return f"user {self.name} (uid {self.uid})"


# Run as the sandbox user before it is used: Python must start, import a standard module
# it has not loaded yet, find torch, and read the paths given (the kit's package, the
# solution tree).
_USER_PROBE = """
import fractions, importlib.util, os, sys
missing = [name for name in ("numpy", "torch") if importlib.util.find_spec(name) is None]
if missing:
    sys.exit("cannot import " + ", ".join(missing))
flags = {True: os.R_OK | os.X_OK, False: os.R_OK}
unreadable = [p for p in sys.argv[1:] if not os.access(p, flags[os.path.isdir(p)])]
if unreadable:
    sys.exit("cannot read " + ", ".join(unreadable))
"""


def sandbox_user(readable=()):
    """(the ``SandboxUser`` student code is to run as, '') when ``AUTOGRADER_SANDBOX_USER``
    names one, this process is root, and that user can run this Python and read
    ``readable``; else (None, why not), with '' when no user is asked for."""
    name = os.environ.get(SANDBOX_USER_ENV, "").strip()
    if not name or name.lower() in ("0", "off", "no", "none"):
        return None, ""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None, (f"{SANDBOX_USER_ENV}={name} needs a grader that runs as root; it runs "
                      f"as uid {os.geteuid() if hasattr(os, 'geteuid') else '?'}")
    import pwd
    try:
        entry = pwd.getpwuid(int(name)) if name.isdigit() else pwd.getpwnam(name)
    except KeyError:
        return None, f"there is no user {name!r} on this machine"
    if entry.pw_uid == 0 or entry.pw_gid == 0:
        return None, f"user {name!r} has root's uid or gid"
    user = SandboxUser(entry.pw_name, entry.pw_uid, entry.pw_gid)
    why = _cannot_serve_as(user, readable)
    return (None, why) if why else (user, "")


def _cannot_serve_as(user, readable):
    """'' when ``user`` can run this interpreter and read ``readable``, else why not."""
    try:
        done = subprocess.run([sys.executable, "-c", _USER_PROBE, *map(str, readable)],
                              user=user.uid, group=user.gid, extra_groups=[], cwd="/",
                              env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                                   "PYTHONDONTWRITEBYTECODE": "1"},
                              capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError) as error:
        return f"user {user.name} cannot run {sys.executable} ({error})"
    if done.returncode == 0:
        return ""
    lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
    return (f"user {user.name} cannot use this Python ({sys.executable}): "
            f"{lines[-1] if lines else f'exit status {done.returncode}'}")


def switch_user(user):
    """Become ``user`` for good: no supplementary groups, and its gid and uid as the real,
    effective and saved ids, so root cannot be taken back (the kernel also clears every
    capability). Raises OSError when any step fails or root could be regained."""
    os.setgroups([])
    os.setresgid(user.gid, user.gid, user.gid)
    os.setresuid(user.uid, user.uid, user.uid)
    if os.getresuid() != (user.uid,) * 3 or os.getresgid() != (user.gid,) * 3:
        raise OSError(f"the ids are {os.getresuid()} / {os.getresgid()} after the switch")
    try:
        os.setuid(0)
    except PermissionError:
        return
    raise OSError("root could be taken back after the switch")


# --- the worker's side -------------------------------------------------------------------

def confine(policy, abi, seccomp, user=None):
    """Apply landlock (``abi`` > 0), the switch to ``user`` (a ``SandboxUser``), seccomp
    and, as root, the capability drop to this process. Returns (applied layer names,
    problems). Landlock's rules are made while the process may still open every path; the
    user switch comes before seccomp, whose filter would not stop it but leaves nothing to
    the ids once it is in place."""
    applied, problems = [], []
    if abi:
        try:
            skipped = apply_landlock(policy, abi)
            applied.append(f"landlock v{abi}")
            if skipped:
                problems.append(f"landlock: no rule could be made for {skipped}")
        except OSError as error:
            problems.append(f"landlock failed: {error}")
    if user is not None:
        try:
            switch_user(user)
            applied.append(user.layer)
        except OSError as error:
            problems.append(f"switching to user {user.name} failed: {error}")
    if seccomp:
        try:
            apply_seccomp()
            applied.append("seccomp")
        except (OSError, ValueError) as error:
            problems.append(f"seccomp failed: {error}")
    if _libc() is not None and os.geteuid() == 0:
        try:
            drop_capabilities()
            applied.append("no capabilities")
        except OSError as error:
            problems.append(f"dropping capabilities failed: {error}")
    return applied, problems


def python_paths(kit_root):
    """Where Python, its standard library and installed packages live (read-only for the
    worker), leaving out the kit's own folders (its reference and tests): inside the kit,
    only a Python environment (a virtual environment or tox's) is kept."""
    kit_root = Path(kit_root).resolve()
    prefixes = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                                            sys.base_exec_prefix)}
    places = set(prefixes)
    for entry in sys.path:
        if entry and os.path.isdir(entry):
            places.add(Path(entry).resolve())
    places.add(Path(sys.executable).resolve().parent)
    kept = set()
    for place in places:
        if place == kit_root or kit_root.is_relative_to(place):
            continue  # the kit root itself, or a folder above it: far too much
        if place.is_relative_to(kit_root) and not any(
                place.is_relative_to(prefix) and prefix != kit_root for prefix in prefixes):
            continue  # a folder of the kit's own (tests/, assignments/...)
        kept.add(place)
    return sorted(str(p) for p in kept)


# --- the grading side's plan for one student worker ------------------------------------

SYSTEM_READ = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/opt",
               "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
               "/etc/timezone", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf",
               "/etc/os-release", "/etc/alternatives", "/sys", "/proc/self", "/proc/cpuinfo",
               "/proc/meminfo", "/proc/stat", "/proc/sys/kernel", "/proc/sys/vm",
               "/proc/driver/nvidia")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
KEPT_ENVIRONMENT = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES",
                    "AUTOGRADER_LANG", "TZ", "LD_LIBRARY_PATH",
                    "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "CUDA_HOME",
                    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY", "SYSTEMROOT")


@dataclass
class Confinement:
    """How one student worker is started and confined: the command prefix, its limits, its
    environment, and the file policy it applies to itself before importing student code."""

    support: Support
    limits: Limits
    read: list
    read_files: list
    devices: list

    @property
    def prefix(self):
        return list(self.support.namespaces)

    @property
    def layers(self):
        return self.support.layers

    def environment(self, scratch, kit_root):
        """A clean environment: nothing of the grader's (results path, seeds, tokens)."""
        import site
        env = {name: os.environ[name] for name in KEPT_ENVIRONMENT if name in os.environ}
        paths = [str(kit_root)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                                   if p]
        env.update(HOME=str(scratch), TMPDIR=str(scratch), TMP=str(scratch), TEMP=str(scratch),
                   PYTHONPATH=os.pathsep.join(dict.fromkeys(paths)), PYTHONUNBUFFERED="1",
                   PYTHONDONTWRITEBYTECODE="1", PYTHONUSERBASE=site.getuserbase(),
                   AUTOGRADER_LIMITS=self.limits.to_env())
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        if self.support.namespaces:
            env["AUTOGRADER_TMPFS"] = "1"
        if self.support.user is not None:  # the worker hands its scratch folder over
            env["AUTOGRADER_SCRATCH_OWNER"] = f"{self.support.user.uid}:{self.support.user.gid}"
        return env

    def policy(self):
        """The part of the load request that closes the sandbox in the worker."""
        user = self.support.user
        return {"read": self.read, "read_files": self.read_files, "devices": self.devices,
                "landlock": self.support.landlock_abi, "seccomp": self.support.seccomp,
                "user": [user.name, user.uid, user.gid] if user is not None else None}


def student_confinement(kit_root, scenario_files, solution_root, cuda=False, limits=None):
    """The confinement of a worker that runs the solution under ``solution_root``."""
    import glob
    kit_root = Path(kit_root).resolve()
    support = detect()
    if not any("turned off" in note for note in support.notes):
        user, problem = sandbox_user([kit_root / "autograder", Path(solution_root).resolve()])
        if user is not None or problem:
            support = replace(support, user=user, user_problem=problem)
    if limits is None:
        # CUDA reserves address space far beyond the memory it uses: no AS limit there.
        limits = Limits(address_space=None) if cuda else Limits()
    read = [*python_paths(kit_root), str(kit_root / "autograder"),
            str(Path(solution_root).resolve()), *SYSTEM_READ]
    devices = [*DEVICES, *sorted(glob.glob("/dev/nvidia*"))]
    return Confinement(support, limits, read, [str(Path(f).resolve()) for f in scenario_files],
                       devices)
