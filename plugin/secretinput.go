package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/docker/cli/cli/command"
	"golang.org/x/term"
)

// readSecretInput reads a secret from a file, or from stdin for "-": from a terminal with
// a prompt and no echo, else whatever is piped in.
func readSecretInput(dockerCli command.Cli, file string) (string, error) {
	if file != "-" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("reading the credential: %w", err)
		}
		return string(b), nil
	}
	in := dockerCli.In()
	if in.IsTerminal() {
		fmt.Fprint(dockerCli.Err(), "Paste the credential (it is not shown): ")
		b, err := term.ReadPassword(int(in.FD()))
		fmt.Fprintln(dockerCli.Err())
		if err != nil {
			return "", fmt.Errorf("reading the credential: %w", err)
		}
		return string(b), nil
	}
	b, err := io.ReadAll(io.LimitReader(in, 64<<10))
	if err != nil {
		return "", fmt.Errorf("reading the credential from stdin: %w", err)
	}
	if strings.TrimSpace(string(b)) == "" {
		return "", errors.New("no credential on stdin")
	}
	return string(b), nil
}
