package k8s

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"

	"k8s.io/client-go/rest"
)

// Logs writes the logs of the pod's container, as kubectl logs does: the last tail lines
// (negative: all), and with follow what it writes next, until it ends or ctx does.
func (c *Client) Logs(ctx context.Context, pod, container string, follow bool, tail int, w io.Writer) error {
	base, _, err := rest.DefaultServerUrlFor(c.config)
	if err != nil {
		return err
	}
	q := url.Values{"container": {container}}
	if follow {
		q.Set("follow", "true")
	}
	if tail >= 0 {
		q.Set("tailLines", strconv.Itoa(tail))
	}
	u := *base
	u.Path = path.Join(base.Path, "api", "v1", "namespaces", c.Namespace, "pods", pod, "log")
	u.RawQuery = q.Encode()
	hc, err := rest.HTTPClientFor(c.config)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("logs of pod %s: %w", pod, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var st struct{ Message string }
		if json.Unmarshal(b, &st) != nil || st.Message == "" {
			st.Message = resp.Status
		}
		return fmt.Errorf("logs of pod %s: %s", pod, st.Message)
	}
	if _, err := io.Copy(w, resp.Body); err != nil && ctx.Err() == nil {
		return fmt.Errorf("logs of pod %s: %w", pod, err)
	}
	return ctx.Err()
}
