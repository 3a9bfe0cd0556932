package egress

import "strings"

// Allowlist holds host names ("api.anthropic.com") and wildcard domains ("*.github.com":
// any subdomain of github.com, not github.com itself).
type Allowlist []string

// ParseAllowlist reads the entries of s, given by commas, spaces or lines
// (MAGENTS_EGRESS_ALLOW).
func ParseAllowlist(s string) Allowlist {
	var out Allowlist
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == ' ' }) {
		if f = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(f), ".")); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// allows reports whether host may be reached on port. An entry without a port allows the
// web's ports, 80 and 443; "host:port" allows that port only. An IP address is allowed
// only when it is listed itself: a name cannot be used to smuggle one.
func (a Allowlist) allows(host, port string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, p := range a {
		name, only, hasPort := strings.Cut(p, ":")
		if hasPort && port != only || !hasPort && port != "80" && port != "443" {
			continue
		}
		if suffix, ok := strings.CutPrefix(name, "*."); ok {
			if strings.HasSuffix(host, "."+suffix) {
				return true
			}
			continue
		}
		if host == name {
			return true
		}
	}
	return false
}
