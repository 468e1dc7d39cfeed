// Package columns holds what the SQLite and PostgreSQL stores write and
// read alike: the JSON encoding of a webhook's structured fields and of
// attempt headers, the time precision both keep, and migration names.
// What differs between the databases stays in their own packages.
package columns

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/hookshot/hookshot"
)

// WebhookJSON holds a webhook's JSON columns, encoded for writing.
type WebhookJSON struct {
	Auth, Events, Options string
}

// EncodeWebhook encodes w's auth, events and event options. A nil slice or
// map is stored as JSON null and read back as nil, so both nil and empty
// round-trip unchanged.
func EncodeWebhook(w *hookshot.Webhook) (WebhookJSON, error) {
	auth, err := json.Marshal(w.Auth)
	if err != nil {
		return WebhookJSON{}, fmt.Errorf("encoding auth: %w", err)
	}
	events, err := json.Marshal(w.Events)
	if err != nil {
		return WebhookJSON{}, fmt.Errorf("encoding events: %w", err)
	}
	options, err := json.Marshal(w.EventOptions)
	if err != nil {
		return WebhookJSON{}, fmt.Errorf("encoding event options: %w", err)
	}
	return WebhookJSON{Auth: string(auth), Events: string(events), Options: string(options)}, nil
}

// DecodeWebhook fills w's auth, events and event options from their
// columns.
func DecodeWebhook(w *hookshot.Webhook, auth, events, options []byte) error {
	if err := json.Unmarshal(auth, &w.Auth); err != nil {
		return fmt.Errorf("webhook %d: decoding auth: %w", w.ID, err)
	}
	if err := json.Unmarshal(events, &w.Events); err != nil {
		return fmt.Errorf("webhook %d: decoding events: %w", w.ID, err)
	}
	if err := json.Unmarshal(options, &w.EventOptions); err != nil {
		return fmt.Errorf("webhook %d: decoding event options: %w", w.ID, err)
	}
	return nil
}

// Headers encodes HTTP headers for an attempt's header columns.
func Headers(h http.Header) (string, error) {
	b, err := json.Marshal(h)
	return string(b), err
}

// Timestamp normalises a time the way both stores keep it: microseconds,
// UTC. Stores normalise callers' structs too, so that what they hold after
// a write equals what a later read returns.
func Timestamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Stamp fills a zero time with the current time, for callers that leave
// timestamps to the store.
func Stamp(t time.Time) time.Time {
	if t.IsZero() {
		return Timestamp(time.Now())
	}
	return Timestamp(t)
}

// NonEmpty reads an empty body back as nil, whichever way it was written,
// so that nil and empty bodies round-trip alike.
func NonEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// MigrationNames lists the migrations/*.sql files of fsys by name without
// directory or extension (e.g. "0001_init"), in the order they apply.
func MigrationNames(fsys fs.FS) []string {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		panic(err) // the pattern is constant and valid
	}
	sort.Strings(names)
	for i, n := range names {
		names[i] = strings.TrimSuffix(strings.TrimPrefix(n, "migrations/"), ".sql")
	}
	return names
}

// Studies encodes a list of study ids (an account's grants) as a JSON
// array; nil is stored as [].
func Studies(ids []int64) string {
	if len(ids) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(ids) // []int64 always encodes
	return string(b)
}

// DecodeStudies reads a column written by Studies; [] reads back as nil.
func DecodeStudies(b []byte) ([]int64, error) {
	var ids []int64
	if err := json.Unmarshal(b, &ids); err != nil {
		return nil, fmt.Errorf("decoding study ids: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return ids, nil
}
