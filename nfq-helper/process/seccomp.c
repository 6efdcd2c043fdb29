/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The syscall filter installed once start-up is done (libseccomp): the
 * system calls of the event loop and of a clean stop are allowed, anything
 * else kills the process (SIGSYS, logged by the kernel's audit). Sanitizer
 * builds also allow what their runtimes need and answer other calls with
 * EPERM, killing only for a short list of dangerous ones. The state keeper
 * (keeper.c) gets a narrower filter of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <seccomp.h>

#include "daemon.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define MH_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define MH_SANITIZED 1
#endif
#endif

/* Allowed without looking at the arguments. */
static const int loop_calls[] = {
	/* the event loop: epoll over signalfd, timerfd, sockets and pidfds */
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2),
	SCMP_SYS(epoll_ctl),
	/* signalfd, timerfd and /proc reads; stderr log, audit log, key log
	 * and pcap writes (all on descriptors opened at start-up) */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(close),
	/* stdio around those reads (fstat's name differs by glibc version) */
	SCMP_SYS(lseek), SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx),
	/* NFQUEUE, nftables, sock_diag and ctnetlink (single-port mode:
	 * conntrack.c, on a socket opened at start-up); control requests and
	 * replies; syslog; the systemd notification */
	SCMP_SYS(recvfrom), SCMP_SYS(recvmsg), SCMP_SYS(recvmmsg), SCMP_SYS(sendto),
	SCMP_SYS(accept4), SCMP_SYS(getsockopt),
	/* syslog reconnects to /dev/log after journald restarts (socket()
	 * itself is limited to AF_UNIX datagrams below) */
	SCMP_SYS(connect),
	/* watching mosh-server; mosh-helperctl's kill: SIGTERM through the
	 * session's pidfd, or that pidfd passed to the caller (sendmsg with
	 * SCM_RIGHTS) when the daemon may not signal the user's process */
	SCMP_SYS(pidfd_open), SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(pidfd_send_signal), SCMP_SYS(sendmsg),
	/* the heap (glibc malloc, the key memory of keymem.c, whose chunks
	 * are locked one by one) */
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	SCMP_SYS(mlock),
	/* time (when the vDSO falls back to the kernel), syslog's LOG_PID */
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(getpid), SCMP_SYS(gettid),
	/* OpenSSL's once-only initialisations (pthread_once wakes waiters) */
	SCMP_SYS(futex),
	/* the control socket, removed at a clean stop. (The session state's
	 * keyring calls and file writes are the keeper's, a child forked
	 * before this filter: keeper.c. Should they move into the daemon,
	 * keyctl, add_key, rename and a creating open belong here.) */
	SCMP_SYS(unlink), SCMP_SYS(unlinkat),
	/* signals and exit (abort() reaches tgkill, checked below) */
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(restart_syscall), SCMP_SYS(exit), SCMP_SYS(exit_group),
};

/* The state keeper (keeper.c), a child of its own: messages on its
 * socket, the keyring, its temporary state file written and renamed, the
 * audit files reopened (logrotate) and passed to the daemon, and what
 * logging needs. Nothing else: no socket but syslog's, no signal, no
 * process, no memory made executable; files are only created (the
 * temporary, exclusively), opened to append (the audit files, whose paths
 * it holds from the start) or opened read-only (glibc may re-read the
 * time zone for a log line). */
static const int keeper_calls[] = {
	SCMP_SYS(recvfrom), SCMP_SYS(recvmsg), SCMP_SYS(sendto), SCMP_SYS(sendmsg),
	SCMP_SYS(fchmod), SCMP_SYS(ftruncate),
	SCMP_SYS(keyctl), SCMP_SYS(add_key),
	SCMP_SYS(write), SCMP_SYS(close), SCMP_SYS(rename), SCMP_SYS(renameat),
	SCMP_SYS(renameat2), SCMP_SYS(unlink), SCMP_SYS(unlinkat),
	SCMP_SYS(lseek), SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx),
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(madvise),
	SCMP_SYS(connect), SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
	SCMP_SYS(time), SCMP_SYS(getpid), SCMP_SYS(futex),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(restart_syscall), SCMP_SYS(exit), SCMP_SYS(exit_group),
};

/* The gateway's relay listener (gwlisten.c), a child of its own: accepted
 * TCP connections (TLS over read/write), epoll, its socketpair to the
 * daemon, the random generator's reseeds, the heap, logging. No file is
 * opened (the CA, certificate, key and CRL are read before the filter),
 * no socket made but syslog's, nothing bound, no process, no signal. */
static const int relay_calls[] = {
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2),
	SCMP_SYS(epoll_ctl), SCMP_SYS(accept4),
	/* the local address a connection came to (its per-source count) */
	SCMP_SYS(getsockname),
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(close),
	SCMP_SYS(recvfrom), SCMP_SYS(recvmsg), SCMP_SYS(sendto), SCMP_SYS(sendmsg),
	SCMP_SYS(getrandom),
	SCMP_SYS(lseek), SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx),
	/* the heap; OpenSSL's allocations go to the key memory of keymem.c,
	 * whose chunks are locked one by one */
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	SCMP_SYS(mlock),
	SCMP_SYS(connect), SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
	SCMP_SYS(time), SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(futex),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(restart_syscall), SCMP_SYS(exit), SCMP_SYS(exit_group),
};

#ifdef MH_SANITIZED
/* What ASan, LSan and UBSan use at run time and at exit: LeakSanitizer
 * clones a tracer that ptrace-attaches to the daemon (making it dumpable
 * for that moment), reads /proc/self, and waits; a report may try to
 * start an external symbolizer (execve gets EPERM; the runtime's own
 * symbolizer still names the frames). */
static const int sanitizer_calls[] = {
	SCMP_SYS(mmap), SCMP_SYS(mprotect), SCMP_SYS(prctl), SCMP_SYS(clone),
	SCMP_SYS(clone3), SCMP_SYS(wait4), SCMP_SYS(waitid), SCMP_SYS(ptrace),
	SCMP_SYS(sched_yield), SCMP_SYS(sigaltstack), SCMP_SYS(rt_sigaction),
	SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(readlink),
	SCMP_SYS(readlinkat), SCMP_SYS(getdents), SCMP_SYS(getdents64),
	SCMP_SYS(getppid),
	SCMP_SYS(kill), SCMP_SYS(tgkill), SCMP_SYS(tkill), SCMP_SYS(nanosleep),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(prlimit64), SCMP_SYS(getrlimit),
	SCMP_SYS(sched_getaffinity), SCMP_SYS(pipe2), SCMP_SYS(dup2),
	SCMP_SYS(getuid), SCMP_SYS(uname), SCMP_SYS(msync), SCMP_SYS(munlock),
	SCMP_SYS(fcntl), SCMP_SYS(ioctl),   /* a report: pipes, is stderr a tty */
};

/* Killed even in a sanitizer build: nothing in the daemon or a sanitizer
 * runtime makes them, and each is a step of an attack. */
static const int dangerous_calls[] = {
	SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root),
	SCMP_SYS(chroot), SCMP_SYS(setns), SCMP_SYS(unshare),
	SCMP_SYS(init_module), SCMP_SYS(finit_module), SCMP_SYS(delete_module),
	SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load), SCMP_SYS(bpf),
	SCMP_SYS(perf_event_open), SCMP_SYS(process_vm_writev),
	SCMP_SYS(setuid), SCMP_SYS(setgid), SCMP_SYS(setreuid),
	SCMP_SYS(setregid), SCMP_SYS(setresuid), SCMP_SYS(setresgid),
	SCMP_SYS(setgroups), SCMP_SYS(capset), SCMP_SYS(userfaultfd),
	SCMP_SYS(io_uring_setup),
};
#endif

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int add_all(scmp_filter_ctx ctx, uint32_t action, const int *nr,
		   size_t n)
{
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		/* a call this architecture does not have is skipped */
		err = seccomp_rule_add(ctx, action, nr[i], 0);
		if (err < 0 && nr[i] >= 0)
			return err;
	}
	return 0;
}

#ifndef MH_SANITIZED
/* Opens of exactly these access flags, for open(2) (flags are argument 1)
 * or openat(2) (argument 2). */
static int add_open_flags(scmp_filter_ctx ctx, int nr, unsigned arg,
			  uint64_t flags)
{
	const uint64_t mask = O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND;
	struct scmp_arg_cmp c = { arg, SCMP_CMP_MASKED_EQ, mask, flags };
	int err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, c);

	return err < 0 && nr < 0 ? 0 : err;   /* no open(2) on this arch */
}

/* Both open calls with exactly these access flags. */
static int allow_opens(scmp_filter_ctx ctx, uint64_t flags)
{
	int err = add_open_flags(ctx, SCMP_SYS(openat), 2, flags);

	return err ? err : add_open_flags(ctx, SCMP_SYS(open), 1, flags);
}
#endif

/* Calls allowed only with certain arguments. */
/* syslog's reconnect: a unix datagram socket, nothing else */
static int allow_syslog_socket(scmp_filter_ctx ctx)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
				SCMP_A0(SCMP_CMP_EQ, AF_UNIX),
				SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_DGRAM));
}

/* The kernel logs what the filter kills (audit, dmesg), where it can. */
static void log_kills(scmp_filter_ctx ctx)
{
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1) < 0)
		log_debug("seccomp: this kernel cannot log killed calls");
}

#ifndef MH_SANITIZED
/* Call nr (mmap, mprotect) allowed for memory that is never executable. */
static int allow_noexec(scmp_filter_ctx ctx, int nr)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
				SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
}
#endif

static int add_narrow(scmp_filter_ctx ctx)
{
	int err = 0;

#ifndef MH_SANITIZED
	/* /proc/<pid>/status and /stat for the announcement checks, the
	 * configuration file on SIGHUP; nothing the loop opens is written */
	err = allow_opens(ctx, O_RDONLY);
	/* heap growth, never executable memory */
	if (!err)
		err = allow_noexec(ctx, SCMP_SYS(mmap));
	/* fdopen() of a reopened slow-path capture asks for its flags */
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
				       SCMP_A1(SCMP_CMP_EQ, F_GETFL));
	/* abort(): a signal to the daemon itself only */
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				       SCMP_A0(SCMP_CMP_EQ, (uint64_t)getpid()));
#endif
	if (!err)
		err = allow_syslog_socket(ctx);
	return err;
}

#ifdef MH_SANITIZED
/* A sanitizer build: the runtimes' calls allowed, the dangerous ones
 * still killed. */
static int add_sanitizer(scmp_filter_ctx ctx)
{
	int err = add_all(ctx, SCMP_ACT_ALLOW, sanitizer_calls, N(sanitizer_calls));

	return err ? err : add_all(ctx, SCMP_ACT_KILL_PROCESS, dangerous_calls,
				   N(dangerous_calls));
}
#endif

static int build(scmp_filter_ctx ctx)
{
	int err = add_all(ctx, SCMP_ACT_ALLOW, loop_calls, N(loop_calls));

#ifdef MH_SANITIZED
	if (!err)
		err = add_sanitizer(ctx);
#endif
	if (!err)
		err = add_narrow(ctx);
	if (!err)
		log_kills(ctx);
	return err;
}

/* The keeper: its calls, read-only opens, the exclusive creation of its
 * temporary, heap growth never executable, syslog's socket. */
static int build_keeper(scmp_filter_ctx ctx)
{
#ifndef MH_SANITIZED
	const uint64_t create = O_WRONLY | O_CREAT | O_EXCL;
	const uint64_t append = O_WRONLY | O_CREAT | O_APPEND;
#endif
	int err = add_all(ctx, SCMP_ACT_ALLOW, keeper_calls, N(keeper_calls));

#ifdef MH_SANITIZED
	if (!err)
		err = add_sanitizer(ctx);
#else   /* (the sanitizer runtimes' list allows every open and mmap) */
	if (!err)
		err = allow_opens(ctx, O_RDONLY);
	if (!err)
		err = allow_opens(ctx, create);
	if (!err)
		err = allow_opens(ctx, append);
	if (!err)
		err = allow_noexec(ctx, SCMP_SYS(mmap));
#endif
	if (!err)
		err = allow_syslog_socket(ctx);
	if (!err)
		log_kills(ctx);
	return err;
}

/* The relay listener: its calls; memory never executable; opens refused
 * with EACCES (OpenSSL or glibc may try a file; nothing may be opened,
 * and refusing keeps the listener up); syslog's socket. */
static int build_gwlisten(scmp_filter_ctx ctx)
{
	int err = add_all(ctx, SCMP_ACT_ALLOW, relay_calls, N(relay_calls));

#ifdef MH_SANITIZED
	if (!err)
		err = add_sanitizer(ctx);
#else
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
	if (!err && seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0) < 0 &&
	    SCMP_SYS(open) >= 0)
		err = -EINVAL;
	if (!err)
		err = allow_noexec(ctx, SCMP_SYS(mmap));
	if (!err)
		err = allow_noexec(ctx, SCMP_SYS(mprotect));
#endif
	if (!err)
		err = allow_syslog_socket(ctx);
	if (!err)
		log_kills(ctx);
	return err;
}

bool mh_seccomp_sanitized(void)
{
#ifdef MH_SANITIZED
	return true;
#else
	return false;
#endif
}

static int install(int (*builder)(scmp_filter_ctx))
{
#ifdef MH_SANITIZED
	uint32_t dflt = SCMP_ACT_ERRNO(EPERM);
#else
	uint32_t dflt = SCMP_ACT_KILL_PROCESS;
#endif
	scmp_filter_ctx ctx = seccomp_init(dflt);
	int err;

	if (!ctx)
		return -ENOMEM;
	err = builder(ctx);
	if (!err)
		err = seccomp_load(ctx);
	seccomp_release(ctx);
	return err;
}

int mh_seccomp_install(void)
{
	return install(build);
}

/* Role relay: the loop's calls, and TCP connections to the gateways
 * (a stream socket of either IP family, TCP_NODELAY on it) and what
 * OpenSSL's TLS needs beyond them (getrandom). */
static int build_relay(scmp_filter_ctx ctx)
{
	int err = build(ctx);

	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
				       SCMP_A0(SCMP_CMP_EQ, AF_INET),
				       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_STREAM));
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
				       SCMP_A0(SCMP_CMP_EQ, AF_INET6),
				       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_STREAM));
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setsockopt), 2,
				       SCMP_A1(SCMP_CMP_EQ, IPPROTO_TCP),
				       SCMP_A2(SCMP_CMP_EQ, TCP_NODELAY));
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(getrandom), 0);
	return err;
}

int mh_seccomp_install_relay(void)
{
	return install(build_relay);
}

int mh_seccomp_install_keeper(void)
{
	return install(build_keeper);
}

int mh_seccomp_install_gwlisten(void)
{
	return install(build_gwlisten);
}
