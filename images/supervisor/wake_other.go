//go:build !linux

package main

import (
	"context"
	"time"
)

// waiter, where the kernel cannot say when to look: a look every pollInterval.
type waiter struct{ ctx context.Context }

const dirReplaced, dirAppended uint32 = 1, 2

func newWaiter(ctx context.Context, _ string, _ uint32) *waiter { return &waiter{ctx: ctx} }

func (w *waiter) watchProcesses(paneProcess) {}

func (w *waiter) wait(d time.Duration) bool { return sleep(w.ctx, min(d, pollInterval)) }

func (w *waiter) close() {}
