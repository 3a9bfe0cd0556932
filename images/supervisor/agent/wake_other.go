//go:build !linux

package agent

import (
	"context"
	"time"
)

// waiter, where the kernel cannot say when to look: a look every pollInterval.
type waiter struct{ ctx context.Context }

func newWaiter(ctx context.Context) *waiter { return &waiter{ctx: ctx} }

func (w *waiter) watchProcesses(paneProcess) {}

func (w *waiter) wait(d time.Duration) bool { return sleep(w.ctx, min(d, pollInterval)) }

func (w *waiter) close() {}

func kickWaiters() {}
