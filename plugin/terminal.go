package main

import (
	"context"

	"github.com/docker/cli/cli/command"

	"github.com/docker-magents/docker-magents/internal/k8s"
)

// newTerminalSizes sends the terminal's size now and on every resize, until ctx ends.
func newTerminalSizes(ctx context.Context, dockerCli command.Cli) <-chan k8s.TerminalSize {
	ch := make(chan k8s.TerminalSize, 1)
	var last k8s.TerminalSize
	send := func() {
		h, w := dockerCli.Out().GetTtySize()
		size := k8s.TerminalSize{Width: uint16(w), Height: uint16(h)}
		if h > 0 && w > 0 && size != last {
			last = size
			select { // a size not yet taken is stale: this one replaces it
			case <-ch:
			default:
			}
			ch <- size // the only sender, and the buffer is empty
		}
	}
	send()
	resized, stop := terminalResizes()
	go func() {
		defer stop()
		for {
			select {
			case <-ctx.Done():
				close(ch)
				return
			case <-resized:
				send()
			}
		}
	}()
	return ch
}
