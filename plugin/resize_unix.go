//go:build !windows

package main

import (
	"os"
	"os/signal"
	"syscall"
)

// terminalResizes ticks when the terminal is resized (SIGWINCH) until stop is called.
func terminalResizes() (resized <-chan struct{}, stop func()) {
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	ch := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer signal.Stop(winch)
		for {
			select {
			case <-done:
				return
			case <-winch:
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		}
	}()
	return ch, func() { close(done) }
}
