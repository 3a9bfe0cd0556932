package agent

import (
	"errors"
	"syscall"
)

func syscallKill(pid int, sig syscall.Signal) error { return syscall.Kill(pid, sig) }

func isEPERM(err error) bool { return errors.Is(err, syscall.EPERM) }
