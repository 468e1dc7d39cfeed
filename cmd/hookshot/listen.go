package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const listenSummary = `Receives a study's events on a machine the service cannot reach: registers a
temporary webhook of the study, receives its deliveries over connections
this command opens to the server, POSTs each to --forward-to with the same
headers and body (signed with the secret printed at start), and reports the
local answer back, so the attempt is stored like any other. A receiver that
fails gets the normal retries. The webhook is deleted when this command
stops (Ctrl-C, SIGTERM), and expires by itself when it vanishes. Needs a
token of the study's webhooks manager or an admin.`

const listenExample = `hookshot listen --server https://hookshot.example.org --token "$TOKEN" --study 7 --forward-to http://localhost:3000/webhooks
hookshot listen --server http://127.0.0.1:8080 --study 7 --events upload,raw_processing_complete --forward-to http://127.0.0.1:9000/
hookshot receive --addr 127.0.0.1:9000 --secret "<the signing secret hookshot listen printed>"`

// forwardBodyCap and forwardHeaderCap bound what is read of the local
// receiver's answer: what the engine keeps of a receiver's (SPEC §12).
const (
	forwardBodyCap   = 64 << 10
	forwardHeaderCap = 64 << 10
)

func runListen(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("listen", listenSummary, listenExample)
	fs.group("Server")
	server := fs.String("server", "", "base URL of the Hookshot service, e.g. https://hookshot.example.org")
	fs.note("server", "env HOOKSHOT_SERVER")
	*server = getenv("HOOKSHOT_SERVER")
	// Declared empty and set from the environment afterwards, so that
	// --help never shows the token as the default.
	token := fs.String("token", "", "API token of the study's webhooks manager, or an admin's")
	fs.note("token", "env HOOKSHOT_TOKEN")
	*token = getenv("HOOKSHOT_TOKEN")
	study := fs.Int64("study", 0, "the study whose events to receive")
	fs.group("Forwarding")
	forwardTo := fs.String("forward-to", "", "local URL each delivery is POSTed to, e.g. http://localhost:3000/webhooks")
	events := fs.String("events", "", "event types to receive, comma-separated (default: all)")
	timeout := fs.Duration("forward-timeout", 15*time.Second, "time limit of one forwarded request, from connecting to reading the capped answer")
	if err := fs.parse(args, stdout); err != nil {
		return err
	}
	var missing []string
	for name, v := range map[string]string{"server": *server, "token": *token, "forward-to": *forwardTo} {
		if v == "" {
			missing = append(missing, "--"+name)
		}
	}
	if *study <= 0 {
		missing = append(missing, "--study")
	}
	if len(missing) > 0 {
		return fmt.Errorf("hookshot listen needs %s (see \"hookshot listen --help\")", strings.Join(missing, ", "))
	}
	if *timeout <= 0 {
		return errors.New("--forward-timeout must be a positive duration such as 15s")
	}
	base, err := url.Parse(strings.TrimRight(*server, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return fmt.Errorf("--server %q is not an http:// or https:// URL", *server)
	}
	c := &listenClient{
		base:  base.String() + "/v1/studies/" + strconv.FormatInt(*study, 10) + "/webhooks",
		token: *token,
		// Long polls wait up to 25s on the server.
		http: &http.Client{Timeout: 60 * time.Second},
	}
	var eventList []string
	for _, e := range strings.Split(*events, ",") {
		if e = strings.TrimSpace(e); e != "" {
			eventList = append(eventList, e)
		}
	}
	var reg struct {
		Webhook struct {
			ID     int64    `json:"id"`
			Events []string `json:"events"`
		} `json:"webhook"`
		Secret string `json:"secret"`
	}
	if err := c.call(ctx, http.MethodPost, "/listen", map[string]any{"url": *forwardTo, "events": eventList}, &reg); err != nil {
		return fmt.Errorf("registering the webhook: %w", err)
	}
	id := reg.Webhook.ID
	fmt.Fprintf(stdout, "Listening to study %d as webhook %d (events: %s).\n", *study, id, strings.Join(reg.Webhook.Events, ", "))
	fmt.Fprintf(stdout, "Forwarding to %s\n", *forwardTo)
	fmt.Fprintf(stdout, "Signing secret: %s\n", reg.Secret)
	fmt.Fprintln(stdout, "Press Ctrl-C to stop; the webhook is deleted then.")

	forwarder := &http.Client{
		Timeout: *timeout,
		Transport: &http.Transport{
			Proxy:                  http.ProxyFromEnvironment,
			MaxResponseHeaderBytes: forwardHeaderCap,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	runErr := c.relay(ctx, id, forwarder, *timeout, stdout, stderr)

	// The signal's context is done: delete with a fresh one.
	cleanup, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.call(cleanup, http.MethodDelete, "/"+strconv.FormatInt(id, 10), nil, nil); err != nil {
		var pe *problemError
		if !errors.As(err, &pe) || pe.Status != http.StatusNotFound {
			fmt.Fprintf(stderr, "deleting webhook %d: %v (it expires by itself)\n", id, err)
			return errors.Join(runErr, err)
		}
	} else {
		fmt.Fprintf(stdout, "Deleted webhook %d.\n", id)
	}
	return runErr
}

// relay claims deliveries and forwards them until ctx ends, or the
// webhook is gone.
func (c *listenClient) relay(ctx context.Context, id int64, forwarder *http.Client, timeout time.Duration, stdout, stderr io.Writer) error {
	hook := "/" + strconv.FormatInt(id, 10)
	pause := time.Duration(0)
	for ctx.Err() == nil {
		var claim struct {
			Deliveries []struct {
				ID      string `json:"id"`
				Event   string `json:"event"`
				Attempt int    `json:"attempt"`
				Request struct {
					URL          string              `json:"url"`
					Headers      map[string][]string `json:"headers"`
					Body         string              `json:"body"`
					BodyEncoding string              `json:"body_encoding"`
				} `json:"request"`
			} `json:"deliveries"`
		}
		err := c.call(ctx, http.MethodPost, hook+"/listen/claim", map[string]string{"wait": "25s"}, &claim)
		if ctx.Err() != nil {
			return nil
		}
		var pe *problemError
		if errors.As(err, &pe) && pe.Status == http.StatusNotFound {
			return fmt.Errorf("webhook %d is gone (deleted, or expired while this command could not reach the server): %s", id, pe.Detail)
		}
		if err != nil {
			// The server may be restarting: keep trying, a little slower
			// each time, well within the webhook's expiry.
			pause = min(max(2*pause, 250*time.Millisecond), 5*time.Second)
			fmt.Fprintf(stderr, "waiting for deliveries: %v; trying again in %s\n", err, pause)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(pause):
			}
			continue
		}
		pause = 0
		for _, d := range claim.Deliveries {
			body := []byte(d.Request.Body)
			if d.Request.BodyEncoding == "base64" {
				if body, err = base64.StdEncoding.DecodeString(d.Request.Body); err != nil {
					return fmt.Errorf("delivery %s: the server sent a body that is not base64: %w", d.ID, err)
				}
			}
			report := forward(ctx, forwarder, d.Request.URL, d.Request.Headers, body, timeout)
			report["delivery_id"] = d.ID
			if ctx.Err() != nil {
				// Cut short by Ctrl-C: not the receiver's answer. The
				// webhook is deleted with its deliveries next.
				return nil
			}
			status := "no response: " + fmt.Sprint(report["error"])
			if r, ok := report["response"].(map[string]any); ok {
				status = fmt.Sprint(r["status"])
			}
			var res struct {
				Status string `json:"status"`
			}
			if err := c.call(ctx, http.MethodPost, hook+"/listen/results", report, &res); err != nil {
				fmt.Fprintf(stderr, "reporting delivery %s: %v (it is sent again when its lease runs out)\n", d.ID, err)
				continue
			}
			fmt.Fprintf(stdout, "%s %s %s attempt %d -> %s (%.0fms), delivery %s\n", time.Now().Format(time.TimeOnly),
				d.Event, d.ID, d.Attempt, status, report["duration_ms"], res.Status)
		}
	}
	return nil
}

// forward POSTs one delivery to the local receiver and returns the report
// of what came back.
func forward(ctx context.Context, client *http.Client, target string, headers map[string][]string, body []byte, timeout time.Duration) map[string]any {
	started := time.Now()
	report := map[string]any{}
	done := func() map[string]any {
		report["duration_ms"] = float64(time.Since(started).Microseconds()) / 1000
		return report
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		report["error"] = "bad forward URL: " + err.Error()
		return done()
	}
	req.Header = http.Header(headers)
	resp, err := client.Do(req)
	if err != nil {
		report["error"] = forwardError(err, target, timeout)
		return done()
	}
	respBody, readErr := io.ReadAll(io.LimitReader(resp.Body, forwardBodyCap))
	_, _ = io.CopyN(io.Discard, resp.Body, 4*forwardBodyCap)
	resp.Body.Close()
	r := map[string]any{"status": resp.StatusCode, "headers": resp.Header, "body": string(respBody)}
	if !utf8.Valid(respBody) {
		r["body"], r["body_encoding"] = base64.StdEncoding.EncodeToString(respBody), "base64"
	}
	report["response"] = r
	if readErr != nil {
		report["error"] = "reading the local receiver's answer: " + readErr.Error()
	}
	return done()
}

// forwardError says why the local receiver gave no answer, naming it, as
// the engine does for receivers it reaches itself.
func forwardError(err error, target string, timeout time.Duration) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Sprintf("hookshot listen: %s timed out after %s", target, timeout)
		}
		err = ue.Err
	}
	if strings.Contains(err.Error(), "header") && strings.Contains(err.Error(), "too long") {
		return fmt.Sprintf("hookshot listen: %s answered with headers over %d KiB", target, forwardHeaderCap>>10)
	}
	return fmt.Sprintf("hookshot listen: forwarding to %s failed: %v", target, err)
}

// listenClient calls the API for hookshot listen.
type listenClient struct {
	base  string // .../v1/studies/{study}/webhooks
	token string
	http  *http.Client
}

// problemError is an API problem document.
type problemError struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
}

func (e *problemError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("%d %s: %s", e.Status, e.Title, e.Detail)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Title)
}

func (c *listenClient) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		pe := &problemError{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode)}
		_ = json.Unmarshal(data, pe)
		pe.Status = resp.StatusCode
		return pe
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	return json.Unmarshal(data, out)
}
