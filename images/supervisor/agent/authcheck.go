package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/credential"
)

// authFailure matches what Claude Code shows when the model API refuses its credential.
var authFailure = regexp.MustCompile(`Invalid API key|authentication_error|OAuth token (has expired|is invalid)|Invalid bearer token|API Error: 401|Please run /login`)

// checkAuth asks the model API whether it takes the credential, with a request that costs
// nothing (GET /v1/models). It reports false only on a clear refusal (401 or 403); an
// unreachable API says nothing about the credential.
func checkAuth(ctx context.Context, creds credential.Credentials, baseURL string) (rejected bool) {
	if baseURL == "" {
		baseURL = "https://api.anthropic.com"
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(baseURL, "/")+"/v1/models", nil)
	if err != nil {
		return false
	}
	req.Header.Set("anthropic-version", "2023-06-01")
	switch {
	case creds.Env["ANTHROPIC_AUTH_TOKEN"] != "":
		req.Header.Set("Authorization", "Bearer "+creds.Env["ANTHROPIC_AUTH_TOKEN"])
	case creds.Env["ANTHROPIC_API_KEY"] != "":
		req.Header.Set("x-api-key", creds.Env["ANTHROPIC_API_KEY"])
	case creds.Env["CLAUDE_CODE_OAUTH_TOKEN"] != "":
		req.Header.Set("Authorization", "Bearer "+creds.Env["CLAUDE_CODE_OAUTH_TOKEN"])
		req.Header.Set("anthropic-beta", "oauth-2025-04-20")
	default:
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden
}

// fingerprint identifies a credential without revealing it: the first 12 hex digits of
// its SHA-256. `docker magents auth status` compares it with the host's.
func fingerprint(value string) string {
	if value == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(value))
	return "sha256:" + hex.EncodeToString(sum[:])[:12]
}

// AuthInfo is `magents-supervisor auth`: what the agent would start Claude with.
func AuthInfo(w io.Writer) int {
	creds, err := credential.Resolve(os.Getenv)
	info := map[string]string{"method": creds.Method}
	if name, val := creds.First(); name != "" {
		info["var"], info["fingerprint"] = name, fingerprint(val)
	}
	if err != nil {
		info["error"] = err.Error()
	}
	_ = json.NewEncoder(w).Encode(info)
	if err != nil {
		return 1
	}
	return 0
}
