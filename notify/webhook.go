package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Headers of hoist's JSON webhook.
const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body
	// under the notifier's secret, as GitHub's X-Hub-Signature-256 does.
	SignatureHeader = "X-Hoist-Signature-256"
	// eventHeader names the event's kind; deliveryHeader its id, the same
	// on every retry.
	eventHeader    = "X-Hoist-Event"
	deliveryHeader = "X-Hoist-Delivery"
)

// Sign is the SignatureHeader value of body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// webhook posts the event as JSON to a URL.
type webhook struct {
	url    string
	secret []byte
	client *http.Client
}

func newWebhook(t Target, client *http.Client) *webhook {
	if client == nil {
		client = &http.Client{}
	}
	// A redirect would carry the signed body elsewhere: it is a failure.
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &webhook{url: t.URL, secret: []byte(t.Secret), client: &c}
}

// send posts ev. A 2xx answer is success; 4xx other than 408 and 429 is
// permanent (retrying will not help); anything else may be retried.
func (w *webhook) send(ctx context.Context, ev Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return permanent{fmt.Errorf("encode: %w", err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return permanent{errors.New("the url does not make a request")}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "hoist")
	req.Header.Set(eventHeader, string(ev.Kind))
	req.Header.Set(deliveryHeader, ev.ID)
	if len(w.secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(w.secret, body))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a token
		}
		return fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests:
		return permanent{fmt.Errorf("answered %s", resp.Status)}
	default:
		return fmt.Errorf("answered %s", resp.Status)
	}
}

// permanent is an error that retrying will not cure.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }
