package fleet

import (
	"crypto/sha256"
	"fmt"
)

// IPv6Subnet is the /64 the fleet's network number n gets with IPv6 on: a unique local
// address prefix (RFC 4193) whose 40-bit global ID comes from the project name, so each
// fleet keeps its own subnets across runs and two fleets are unlikely to overlap.
// Engines before 27 allocate no IPv6 subnet by themselves.
func (f *Fleet) IPv6Subnet(n uint16) string {
	sum := sha256.Sum256([]byte(f.Project))
	return fmt.Sprintf("fd%02x:%02x%02x:%02x%02x:%x::/64", sum[0], sum[1], sum[2], sum[3], sum[4], n)
}
