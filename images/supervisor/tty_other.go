//go:build !linux

package main

func isTerminal(uintptr) bool { return false }
