package e2e

import (
	"encoding/json"
	"fmt"
	"github.com/jackc/pgx/v5"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// fixture returns the raw bytes of an example payload.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := fs.ReadFile(fixtures, name)
	if err != nil {
		t.Fatalf("reading fixture %s: %v", name, err)
	}
	return b
}

// Each fixture's own study, so its payload matches the URL.
var fixtureStudy = map[string]int64{
	"upload-started.json":                189,
	"upload-completed.json":              189,
	"upload-error.json":                  189,
	"raw_processing_complete.json":       1064,
	"data_retrieval_complete.json":       1064,
	"daily_statistics_complete.json":     234,
	"cp2_daily_statistics_complete.json": 34583,
}

var fixtureType = map[string]string{
	"upload-started.json":                "upload",
	"upload-completed.json":              "upload",
	"upload-error.json":                  "upload",
	"raw_processing_complete.json":       "raw_processing_complete",
	"data_retrieval_complete.json":       "data_retrieval_complete",
	"daily_statistics_complete.json":     "daily_statistics_complete",
	"cp2_daily_statistics_complete.json": "cp2_daily_statistics_complete",
}

// uploadPayload is an upload event for a study, with a distinct upload id
// so tests can tell events apart.
func uploadPayload(study int64, status string, upload int) []byte {
	extra := ""
	if status == "error" {
		extra = `, "message": "A problem occured during upload processing"`
	}
	return []byte(fmt.Sprintf(`{"status": %q, "uploadId": "%d", "subjectId": "44732", "studyId": "%d"%s}`, status, upload, study, extra))
}

// publishBody wraps a raw payload in a publish request without
// re-encoding it, so the bytes the receiver gets can be compared.
func publishBody(eventType string, payload []byte) []byte {
	return []byte(`{"type": "` + eventType + `", "payload": ` + string(payload) + `}`)
}

type webhookJSON struct {
	ID           int64                      `json:"id"`
	StudyID      int64                      `json:"study_id"`
	URL          string                     `json:"url"`
	Auth         map[string]any             `json:"auth"`
	Events       []string                   `json:"events"`
	EventOptions map[string]json.RawMessage `json:"event_options"`
	Active       bool                       `json:"active"`
	Validation   struct {
		Status     string     `json:"status"`
		DeliveryID *string    `json:"delivery_id"`
		CheckedAt  *time.Time `json:"checked_at"`
	} `json:"validation"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

type publishJSON struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Deliveries []struct {
		ID        string `json:"id"`
		WebhookID int64  `json:"webhook_id"`
	} `json:"deliveries"`
}

type deliveryJSON struct {
	ID            string     `json:"id"`
	WebhookID     int64      `json:"webhook_id"`
	Event         string     `json:"event"`
	EventID       *string    `json:"event_id"`
	Status        string     `json:"status"`
	AttemptCount  int        `json:"attempt_count"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	Attempts      []struct {
		Number     int       `json:"number"`
		StartedAt  time.Time `json:"started_at"`
		DurationMS float64   `json:"duration_ms"`
		Request    struct {
			URL     string            `json:"url"`
			Headers map[string]string `json:"headers"`
			Body    string            `json:"body"`
		} `json:"request"`
		Response *struct {
			Status  int               `json:"status"`
			Headers map[string]string `json:"headers"`
			Body    string            `json:"body"`
		} `json:"response"`
		Error *string `json:"error"`
	} `json:"attempts"`
}

type listJSON[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

type problemJSON struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

func (h *Hookshot) createWebhook(t *testing.T, study int64, body any) webhookJSON {
	t.Helper()
	var w webhookJSON
	h.call("POST", fmt.Sprintf("/v1/studies/%d/webhooks", study), body).must(t, http.StatusCreated).JSON(t, &w)
	return w
}

func (h *Hookshot) webhook(t *testing.T, study, id int64) webhookJSON {
	t.Helper()
	var w webhookJSON
	h.call("GET", fmt.Sprintf("/v1/studies/%d/webhooks/%d", study, id), nil).must(t, http.StatusOK).JSON(t, &w)
	return w
}

// waitValidation waits until the webhook's validation has an outcome and
// returns the webhook.
func (h *Hookshot) waitValidation(t *testing.T, study, id int64) webhookJSON {
	t.Helper()
	var w webhookJSON
	waitFor(t, 20*time.Second, "validation of webhook", func() bool {
		w = h.webhook(t, study, id)
		return w.Validation.Status != "pending"
	})
	return w
}

// validatedWebhook creates a webhook and waits for it to pass validation.
func (h *Hookshot) validatedWebhook(t *testing.T, study int64, body any) webhookJSON {
	t.Helper()
	w := h.createWebhook(t, study, body)
	w = h.waitValidation(t, study, w.ID)
	if w.Validation.Status != "passed" {
		t.Fatalf("validation of webhook %d: %s", w.ID, w.Validation.Status)
	}
	return w
}

func (h *Hookshot) publish(t *testing.T, study int64, eventType string, payload []byte, header ...string) publishJSON {
	t.Helper()
	var p publishJSON
	h.call("POST", fmt.Sprintf("/v1/studies/%d/events", study), publishBody(eventType, payload), header...).must(t, http.StatusAccepted).JSON(t, &p)
	return p
}

func (h *Hookshot) delivery(t *testing.T, study, webhookID int64, id string) deliveryJSON {
	t.Helper()
	var d deliveryJSON
	h.call("GET", fmt.Sprintf("/v1/studies/%d/webhooks/%d/deliveries/%s", study, webhookID, id), nil).must(t, http.StatusOK).JSON(t, &d)
	return d
}

// waitDelivery waits until a delivery has the status and returns it.
func (h *Hookshot) waitDelivery(t *testing.T, study, webhookID int64, id, status string) deliveryJSON {
	t.Helper()
	var d deliveryJSON
	deadline := time.Now().Add(30 * time.Second)
	for {
		d = h.delivery(t, study, webhookID, id)
		if d.Status == status {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 30s waiting for delivery %s to be %s; it is %+v\nlogs:\n%s", id, status, d, h.Logs())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitSucceeded waits until every delivery that the publish answers list
// is recorded as succeeded. The answers name every delivery the events
// made, so once these are recorded nothing more is on its way to any
// receiver, and a test can count what arrived without sleeping first.
func (h *Hookshot) waitSucceeded(t *testing.T, study int64, pubs ...publishJSON) {
	t.Helper()
	for _, p := range pubs {
		for _, d := range p.Deliveries {
			h.waitDelivery(t, study, d.WebhookID, d.ID, "succeeded")
		}
	}
}

// deliveryCount is how many deliveries of eventType the store holds for a
// webhook, read through the API.
func (h *Hookshot) deliveryCount(t *testing.T, study, webhookID int64, eventType string) int {
	t.Helper()
	var list listJSON[deliveryJSON]
	h.call("GET", fmt.Sprintf("/v1/studies/%d/webhooks/%d/deliveries?event=%s&limit=200", study, webhookID, eventType), nil).must(t, http.StatusOK).JSON(t, &list)
	return len(list.Items)
}

// received is one request a receiver got.
type received struct {
	Header http.Header
	Body   []byte
	At     time.Time
}

// receiver is a real HTTPS server on the loopback address that records
// what it gets. By default it answers the validation handshake and 200s
// every event; handle replaces the answer to events.
type receiver struct {
	*httptest.Server
	mu          sync.Mutex
	events      []received
	validations []received
	handle      func(w http.ResponseWriter, r *http.Request, body []byte)
	// validate replaces the answer to validation requests.
	validate func(w http.ResponseWriter, r *http.Request, body []byte)
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewTLSServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	got := received{Header: r.Header.Clone(), Body: body, At: time.Now()}
	isValidation := false
	for k, v := range r.Header {
		// Any prefix: some tests change it.
		if strings.HasSuffix(k, "-Event") && len(v) == 1 && v[0] == "validation" {
			isValidation = true
		}
	}
	rc.mu.Lock()
	if isValidation {
		rc.validations = append(rc.validations, got)
	} else {
		rc.events = append(rc.events, got)
	}
	handle, validate := rc.handle, rc.validate
	rc.mu.Unlock()
	switch {
	case isValidation && validate != nil:
		validate(w, r, body)
	case isValidation:
		w.Header().Set("X-ActiGraph-Hook-Secret", r.Header.Get("X-ActiGraph-Hook-Secret"))
		w.WriteHeader(http.StatusOK)
	case handle != nil:
		handle(w, r, body)
	default:
		w.WriteHeader(http.StatusOK)
	}
}

func (rc *receiver) setHandler(f func(w http.ResponseWriter, r *http.Request, body []byte)) {
	rc.mu.Lock()
	rc.handle = f
	rc.mu.Unlock()
}

func (rc *receiver) setValidator(f func(w http.ResponseWriter, r *http.Request, body []byte)) {
	rc.mu.Lock()
	rc.validate = f
	rc.mu.Unlock()
}

// requireAuth makes the receiver answer 401, to the handshake and to
// events alike, unless allowed says the request's credentials are right.
func (rc *receiver) requireAuth(allowed func(r *http.Request) bool) {
	rc.setValidator(func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if !allowed(r) {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		w.Header().Set("X-ActiGraph-Hook-Secret", r.Header.Get("X-ActiGraph-Hook-Secret"))
	})
	rc.setHandler(func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if !allowed(r) {
			http.Error(w, "who are you", http.StatusUnauthorized)
		}
	})
}

func (rc *receiver) Events() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.events...)
}

func (rc *receiver) Validations() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.validations...)
}

// waitEvents waits until the receiver has got at least n event requests.
func (rc *receiver) waitEvents(t *testing.T, n int) []received {
	t.Helper()
	waitFor(t, 30*time.Second, fmt.Sprintf("%d event requests", n), func() bool { return len(rc.Events()) >= n })
	return rc.Events()
}

// hookBody is a webhook create request for url subscribed to events.
func hookBody(url string, events ...string) map[string]any {
	return map[string]any{"url": url, "events": events}
}

func itoa(n int64) string { return fmt.Sprint(n) }

// storedBytes returns what the database holds at rest: the SQLite files,
// or the PostgreSQL webhooks' credentials and the attempts' headers.
func storedBytes(t *testing.T, database string) []byte {
	t.Helper()
	if path, ok := strings.CutPrefix(database, "sqlite:"); ok {
		var all []byte
		for _, suffix := range []string{"", "-wal"} {
			b, err := os.ReadFile(path + suffix)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		return all
	}
	conn, err := pgx.Connect(t.Context(), database)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var all []byte
	rows, err := conn.Query(t.Context(), `SELECT coalesce(credentials, ''::bytea) FROM webhooks
		UNION ALL SELECT convert_to(request_headers::text, 'UTF8') FROM attempts`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatal("found nothing stored to check")
	}
	return all
}
