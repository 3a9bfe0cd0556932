package main

import "testing"

func TestExtractSetupToken(t *testing.T) {
	screen := "\x1b[2J\x1b[1;1H✓ Long-lived authentication token created successfully!\r\n\r\n" +
		"Your OAuth token (valid for 1 year):\r\n\r\n\x1b[1msk-ant-oat01-AbCdEfGhIjKlMnOpQrStUvWxYz_0123456789-abcd\x1b[22m\r\n\r\n" +
		"Store this token securely.\r\n"
	if got := extractSetupToken(screen); got != "sk-ant-oat01-AbCdEfGhIjKlMnOpQrStUvWxYz_0123456789-abcd" {
		t.Errorf("token %q", got)
	}
	if got := extractSetupToken("Error: not signed in\r\n"); got != "" {
		t.Errorf("found %q in an error", got)
	}
}
