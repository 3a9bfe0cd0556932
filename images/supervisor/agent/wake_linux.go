package agent

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"time"
)

// waiter is what the supervisor's loops sleep on between looks, so that an idle agent's
// supervisor does not wake at all: a look happens when the supervisor is kicked (see
// kick: the hooks report, a restart is asked for, its status changed), when a watched
// process exits (pidfd), or when the look's own timeout passes — and never twice within
// minGap. Where the kernel cannot watch a process (no pidfd), a look happens every
// pollInterval. Not inotify: its instances are few per user (128 by default), and 64
// agents' supervisors and Claudes, all one user, used them up.
// Plain system calls: the supervisor is built offline, from the standard library alone.

type waiter struct {
	ctx    context.Context
	minGap time.Duration
	last   time.Time

	mu      sync.Mutex
	epoll   int    // what wait sleeps in: stop, kicks, the processes
	stop    [2]int // a pipe, readable once ctx ended
	kicks   [2]int // a pipe, readable once kicked
	procs   []int  // pidfds of the watched processes
	polling bool   // something could not be watched: look every pollInterval
	closed  bool
}

// waiters are the waiters kicked in this process.
var waiters struct {
	sync.Mutex
	all map[*waiter]bool
}

// kickWaiters makes every waiter of this process look (at most once per its minGap).
func kickWaiters() {
	waiters.Lock()
	defer waiters.Unlock()
	for w := range waiters.all {
		_, _ = syscall.Write(w.kicks[1], []byte{1}) // a full pipe is a kick already
	}
}

// sysPidfdOpen is pidfd_open(2): 434 on every architecture (Linux 5.3 and later).
const sysPidfdOpen = 434

// newWaiter is a waiter until ctx ends.
func newWaiter(ctx context.Context) *waiter {
	w := &waiter{ctx: ctx, minGap: pollInterval, epoll: -1, stop: [2]int{-1, -1}, kicks: [2]int{-1, -1}}
	var err error
	if w.epoll, err = syscall.EpollCreate1(syscall.EPOLL_CLOEXEC); err != nil {
		w.epoll, w.polling = -1, true
		return w
	}
	for _, p := range []*[2]int{&w.stop, &w.kicks} {
		var fds [2]int
		if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
			w.polling = true
			continue
		}
		*p = fds
		if !w.add(fds[0]) {
			w.polling = true
		}
	}
	if w.kicks[1] >= 0 {
		waiters.Lock()
		if waiters.all == nil {
			waiters.all = map[*waiter]bool{}
		}
		waiters.all[w] = true
		waiters.Unlock()
	}
	context.AfterFunc(ctx, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.stop[1] >= 0 && !w.closed {
			_, _ = syscall.Write(w.stop[1], []byte{1})
		}
	})
	return w
}

// add makes fd becoming readable end a wait.
func (w *waiter) add(fd int) bool {
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}
	return syscall.EpollCtl(w.epoll, syscall.EPOLL_CTL_ADD, fd, &ev) == nil
}

// watchProcesses makes the exit of p's pane process or its tmux server a reason to look
// (replacing what was watched before; the zero paneProcess watches nothing).
func (w *waiter) watchProcesses(p paneProcess) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, fd := range w.procs {
		syscall.Close(fd) // which takes it out of the epoll set too
	}
	w.procs = nil
	w.polling = w.epoll < 0 || w.stop[0] < 0 || w.kicks[0] < 0
	for _, pr := range []struct {
		pid   int
		start uint64
	}{{p.PID, p.Start}, {p.Server, p.ServerStart}} {
		if pr.pid <= 0 || w.epoll < 0 {
			continue
		}
		fd, _, errno := syscall.Syscall(sysPidfdOpen, uintptr(pr.pid), 0, 0) // always close-on-exec
		if errno != 0 {
			// ESRCH: already gone, the next look sees it; anything else (an old kernel):
			// look every pollInterval.
			w.polling = w.polling || errno != syscall.ESRCH
			continue
		}
		if !runs(pr.pid, pr.start) {
			// The PID names another process by now: the one watched is gone already.
			syscall.Close(int(fd))
			continue
		}
		if !w.add(int(fd)) {
			syscall.Close(int(fd))
			w.polling = true
			continue
		}
		w.procs = append(w.procs, int(fd))
	}
}

// wait returns after one of its reasons to look or after d (capped at pollInterval where
// it cannot watch), and never sooner than minGap after it last returned. It returns false
// once ctx ended.
func (w *waiter) wait(d time.Duration) bool {
	defer func() { w.last = time.Now() }()
	if gap := w.minGap - time.Since(w.last); gap > 0 && !sleep(w.ctx, gap) {
		return false
	}
	w.mu.Lock()
	blind := w.polling
	w.mu.Unlock()
	if blind {
		return sleep(w.ctx, min(d, pollInterval))
	}
	events := make([]syscall.EpollEvent, 8)
	deadline := time.Now().Add(d)
	for {
		n, err := syscall.EpollWait(w.epoll, events, int(max(time.Until(deadline), 0).Milliseconds()))
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if w.ctx.Err() != nil {
			return false
		}
		if n > 0 {
			w.drain()
		}
		return true
	}
}

// drain reads the kicks waiting: they only say "look".
func (w *waiter) drain() {
	w.mu.Lock()
	defer w.mu.Unlock()
	buf := make([]byte, 64)
	for w.kicks[0] >= 0 {
		if n, err := syscall.Read(w.kicks[0], buf); n <= 0 || err != nil {
			return
		}
	}
}

func (w *waiter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.closed = true
	waiters.Lock()
	delete(waiters.all, w)
	waiters.Unlock()
	for _, fd := range append(w.procs, w.stop[0], w.stop[1], w.kicks[0], w.kicks[1], w.epoll) {
		if fd >= 0 {
			syscall.Close(fd)
		}
	}
	w.procs = nil
}
