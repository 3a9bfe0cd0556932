package proxy

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"github.com/docker-magents/docker-magents/images/supervisor/envvar"
	"github.com/docker-magents/docker-magents/images/supervisor/logs"
	"github.com/docker-magents/docker-magents/images/supervisor/protocol"
)

// The proxy container's commands that ask the running proxy on its own port (run through
// exec): its report, the model gateway's account and budgets, the work queue.

// Ask asks the running proxy on its own port (run in its container) and prints the
// answer; it fails when the proxy does not answer 200.
func Ask(method, path string, body io.Reader, w io.Writer) int {
	addr := envvar.Get(agentenv.ProxyAddr, ":3128")
	if strings.HasPrefix(addr, ":") {
		addr = "127.0.0.1" + addr
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}
	req, err := http.NewRequest(method, "http://"+addr+path, body)
	if err != nil {
		logs.Printf("%v", err)
		return 1
	}
	resp, err := client.Do(req)
	if err != nil {
		logs.Printf("asking the egress proxy: %v", err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if _, ok := protocol.DecodeError(b); ok {
			// The refusal itself, for the host to decode.
			_, _ = w.Write(b)
			return protocol.ExitRefused
		}
		logs.Printf("the egress proxy answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
		return 1
	}
	_, _ = io.Copy(w, resp.Body)
	return 0
}

// Denied is `magents-supervisor proxy-denied [--queue]`: print the running proxy's
// report, with the work queue's tasks when asked (one exec for the dashboard's read).
func Denied(args []string, w io.Writer) int {
	path := "/magents/denied"
	for _, a := range args {
		if a != "--queue" {
			logs.Printf("proxy-denied: unknown argument %q (give --queue, or nothing)", a)
			return 2
		}
		path += "?queue=1"
	}
	return Ask(http.MethodGet, path, nil, w)
}

// Queue is `magents-supervisor queue …`, run in the proxy's container.
func Queue(args []string) int {
	switch {
	case len(args) == 1 && args[0] == "ls":
		return Ask(http.MethodGet, "/magents/queue", nil, os.Stdout)
	case len(args) == 1 && args[0] == "add":
		return Ask(http.MethodPost, "/magents/queue", os.Stdin, os.Stdout)
	case len(args) == 2 && (args[0] == "cancel" || args[0] == "retry"):
		return Ask(http.MethodPost, "/magents/queue/"+args[0]+"?id="+url.QueryEscape(args[1]), nil, os.Stdout)
	}
	fmt.Fprint(os.Stderr, "usage: magents-supervisor queue ls|add|cancel ID|retry ID\n")
	return 2
}
