package fleet

import (
	"fmt"

	"github.com/docker/go-units"
)

// Memory limits docker takes: at least 6 MiB (the engine refuses less), at most far more
// than any machine has (a typo of a unit, not a limit).
const (
	minMemory = 6 << 20
	maxMemory = 1 << 50
)

// ParseBytes reads a memory size as docker does (units.RAMInBytes: 4g, 512m, 1.5g, 1024k,
// or bytes): no exponents, NaN or infinities.
func ParseBytes(size string) (int64, error) {
	n, err := units.RAMInBytes(size)
	if err != nil || n < minMemory || n > maxMemory {
		return 0, fmt.Errorf("invalid memory size %q: give a size such as 4g or 512m (at least 6m)", size)
	}
	return n, nil
}

// ParseMemory validates a memory size.
func ParseMemory(s string) error {
	_, err := ParseBytes(s)
	return err
}
