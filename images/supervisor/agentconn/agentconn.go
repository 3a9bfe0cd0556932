// Package agentconn is how the proxy container knows who asks: each agent reaches it on a
// unix socket of its own (in its own directory), so every connection accepted there, and
// every request on it, carries the agent's name; a request on the proxy's own port
// carries none. It also caps the connections open at once, so that no agent exhausts the
// proxy for the others.
package agentconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
)

// Listen listens on the unix socket path for agent, replacing a stale one (never
// following a link the agent put there: remove takes the link itself).
func Listen(path, agent string) (net.Listener, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", agent, err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", agent, err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return nil, err
	}
	return &listener{Listener: ln, agent: agent}, nil
}

type listener struct {
	net.Listener
	agent string
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c, agent: l.agent}, nil
}

// conn is a connection from one agent: accepted on the unix socket of its directory.
type conn struct {
	net.Conn
	agent string
}

type agentKey struct{}

// ConnContext gives each request the agent its connection came from (http.Server's
// ConnContext).
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if lc, ok := c.(*limitedConn); ok {
		c = lc.Conn
	}
	if ac, ok := c.(*conn); ok {
		return WithAgent(ctx, ac.agent)
	}
	return ctx
}

// WithAgent is ctx of a request known to be agent's.
func WithAgent(ctx context.Context, agent string) context.Context {
	return context.WithValue(ctx, agentKey{}, agent)
}

// Agent is the agent a request came from; ok is false for the proxy's own port.
func Agent(ctx context.Context) (agent string, ok bool) {
	agent, ok = ctx.Value(agentKey{}).(string)
	return agent, ok
}
