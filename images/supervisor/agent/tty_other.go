//go:build !linux

package agent

func isTerminal(uintptr) bool { return false }
