package main

import "time"

// terminalResizes ticks four times a second until stop is called: a Windows console has
// no resize signal, so the size is read again on each tick, as docker's own CLI does.
func terminalResizes() (resized <-chan struct{}, stop func()) {
	ch := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		ticker := time.NewTicker(250 * time.Millisecond)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		}
	}()
	return ch, func() { close(done) }
}
