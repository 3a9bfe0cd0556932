// Package httprelay is what the proxy container's roles share to pass HTTP on: the egress
// proxy forwards the agents' requests, the model gateway relays theirs to the Messages
// API, the git relay and the dispatcher take their uploads, and an agent's supervisor
// carries its connections to the proxy's socket.
package httprelay

import (
	"io"
	"net"
	"net/http"
	"time"
)

// HopHeaders are not forwarded (RFC 9110, section 7.6.1).
var HopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// WriteResponseHead passes on an upstream answer's status and headers, less the
// hop-by-hop ones.
func WriteResponseHead(w http.ResponseWriter, resp *http.Response) {
	for _, h := range HopHeaders {
		resp.Header.Del(h)
	}
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
}

// FlushCopy copies a response body, flushing as it goes (server-sent events stream).
func FlushCopy(w http.ResponseWriter, r io.Reader) {
	f, _ := w.(http.Flusher)
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if f != nil {
				f.Flush()
			}
		}
		if err != nil {
			return
		}
	}
}

// IdleBody is the body of the request w answers, each read given until idle from its
// start (the server's read deadline, moved on at every read): a body that trickles in
// gets all the time it needs, one that stops is cut. Closing it closes body.
func IdleBody(w http.ResponseWriter, body io.ReadCloser, idle time.Duration) io.ReadCloser {
	return idleReader{r: body, rc: http.NewResponseController(w), idle: idle}
}

type idleReader struct {
	r    io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
}

func (i idleReader) Read(p []byte) (int, error) {
	// A server that cannot set deadlines (a test's recorder) reads without.
	_ = i.rc.SetReadDeadline(time.Now().Add(i.idle))
	return i.r.Read(p)
}

func (i idleReader) Close() error { return i.r.Close() }

// CloseWrite ends c's way out, when it can (TCP and unix connections): the other end
// reads the end of what was relayed while its answer may still come back.
func CloseWrite(c net.Conn) {
	if tc, ok := c.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	}
}
