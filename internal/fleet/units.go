package fleet

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseBytes reads a memory size as docker does: 4g, 512m, 1024k, or bytes.
func ParseBytes(size string) (int64, error) {
	s := strings.ToLower(strings.TrimSpace(size))
	mult := int64(1)
	for suffix, m := range map[string]int64{"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40} {
		if strings.HasSuffix(s, suffix) || strings.HasSuffix(s, suffix+"b") {
			s = strings.TrimSuffix(strings.TrimSuffix(s, "b"), suffix)
			mult = m
			break
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("invalid memory size %q: give a size such as 4g or 512m", size)
	}
	return int64(n * float64(mult)), nil
}

// ParseMemory validates a memory size.
func ParseMemory(s string) error {
	_, err := ParseBytes(s)
	return err
}
