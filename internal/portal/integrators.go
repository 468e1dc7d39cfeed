package portal

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/catalog"
	"github.com/hookshot/hookshot/internal/service"
)

// Pages for integrators (SPEC §15): the "Send test event" control on a
// webhook's Details, the event catalog, and the account's own API tokens.

// sendTestEvent sends the chosen type's example to this webhook. The
// upload status is sent only with upload, since the form shows it for
// every type.
func (s *Server) sendTestEvent(w http.ResponseWriter, r *http.Request, sess *session, study int64) {
	id := pathID(r, "id")
	in := service.TestInput{Type: r.PostFormValue("type")}
	if in.Type == hookshot.EventUpload {
		in.Status = r.PostFormValue("status")
	}
	if _, err := s.svc.Events.SendTest(r.Context(), sess.principal(), study, id, in); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	redirect(w, r, webhookPath(study, id), "test-sent")
}

// catalogField is one top-level field of an event type's payload.
type catalogField struct {
	Name        string
	Kind        string
	Required    bool
	Description string
}

// catalogType is an event type as the catalog page shows it.
type catalogType struct {
	catalog.EventType
	Fields  []catalogField
	Schema  string // indented
	Example string // indented
}

// showCatalog is the event catalog: each type's fields, schema and
// example, for people writing receivers.
func (s *Server) showCatalog(w http.ResponseWriter, r *http.Request, sess *session) {
	types := s.svc.Events.Catalog().Types()
	out := make([]catalogType, len(types))
	for i, t := range types {
		out[i] = catalogType{EventType: t, Fields: schemaFields(t.Schema), Schema: indent(t.Schema), Example: indent(t.Example)}
	}
	s.render(w, r, http.StatusOK, "catalog", &view{Title: "Event catalog", Account: sess.account, CSRF: sess.csrf, Data: out})
}

// schemaFields lists a schema's top-level properties, in name order, with
// what kind of value each takes as the schema says it.
func schemaFields(schema []byte) []catalogField {
	type property struct {
		Description string          `json:"description"`
		Type        json.RawMessage `json:"type"`
		Enum        []any           `json:"enum"`
		Ref         string          `json:"$ref"`
		Items       json.RawMessage `json:"items"`
	}
	var doc struct {
		Required   []string            `json:"required"`
		Properties map[string]property `json:"properties"`
	}
	if err := json.Unmarshal(schema, &doc); err != nil {
		return nil
	}
	fields := make([]catalogField, 0, len(doc.Properties))
	for name, p := range doc.Properties {
		f := catalogField{Name: name, Required: slices.Contains(doc.Required, name), Description: p.Description}
		switch {
		case len(p.Enum) > 0:
			vals := make([]string, len(p.Enum))
			for i, v := range p.Enum {
				b, _ := json.Marshal(v)
				vals[i] = string(b)
			}
			f.Kind = "one of " + strings.Join(vals, ", ")
		case p.Ref == "#/$defs/id":
			f.Kind = "id: integer or string of digits"
		case p.Ref != "":
			f.Kind = strings.TrimPrefix(p.Ref, "#/$defs/")
		case len(p.Type) > 0:
			var one string
			var many []string
			if json.Unmarshal(p.Type, &one) == nil {
				f.Kind = one
			} else if json.Unmarshal(p.Type, &many) == nil {
				f.Kind = strings.Join(many, " or ")
			}
		}
		fields = append(fields, f)
	}
	sort.Slice(fields, func(i, j int) bool {
		if fields[i].Required != fields[j].Required {
			return fields[i].Required
		}
		return fields[i].Name < fields[j].Name
	})
	return fields
}

func indent(raw []byte) string {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}

// tokenExpiry is a lifetime the token form offers; For 0 is never.
type tokenExpiry struct {
	Value, Label string
	For          time.Duration
}

// tokenExpiries are the lifetimes the token form offers, longest last.
var tokenExpiries = []tokenExpiry{
	{"720h", "30 days", 720 * time.Hour},
	{"2160h", "90 days", 2160 * time.Hour},
	{"8760h", "1 year", 8760 * time.Hour},
	{"never", "Never", 0},
}

type tokensData struct {
	Tokens   []*hookshot.Token
	Expiries []tokenExpiry
	Now      time.Time
	// Created is the token just made, with its secret, shown this once.
	Created *hookshot.Token
	Secret  string
	Name    string
	Expires string
	Errors  map[string]string
	// Studies are the studies the account manages, offered to narrow a
	// token to; Chosen are the ticked ones. Admins manage every study and
	// are offered none.
	Studies []int64
	Chosen  map[int64]bool
}

func (s *Server) tokensPage(w http.ResponseWriter, r *http.Request, sess *session, status int, d tokensData) {
	tokens, err := s.svc.Accounts.MyTokens(r.Context(), sess.principal())
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	slices.Reverse(tokens) // newest first
	d.Tokens, d.Expiries, d.Now = tokens, tokenExpiries, time.Now()
	if d.Expires == "" {
		d.Expires = tokenExpiries[0].Value
	}
	if !sess.account.Admin {
		d.Studies = slices.Sorted(slices.Values(sess.account.Manage))
	}
	if d.Chosen == nil {
		d.Chosen = map[int64]bool{}
		for _, id := range d.Studies {
			d.Chosen[id] = true
		}
	}
	s.render(w, r, status, "tokens", &view{Title: "API tokens", Account: sess.account, CSRF: sess.csrf, Notice: notice(r), Data: d})
}

func (s *Server) showTokens(w http.ResponseWriter, r *http.Request, sess *session) {
	s.tokensPage(w, r, sess, http.StatusOK, tokensData{})
}

// createToken makes a token and shows it on the page it answers with,
// never in a redirect's URL, so the secret stays out of history and logs.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request, sess *session) {
	d := tokensData{Name: r.PostFormValue("name"), Expires: r.PostFormValue("expires")}
	in := service.TokenInput{Name: d.Name}
	i := slices.IndexFunc(tokenExpiries, func(e tokenExpiry) bool { return e.Value == d.Expires })
	if i < 0 {
		d.Errors = map[string]string{"expires": "Choose how long the token lasts."}
		s.tokensPage(w, r, sess, http.StatusUnprocessableEntity, d)
		return
	}
	in.ExpiresIn = tokenExpiries[i].For
	// Some of the account's studies ticked: the token manages those only,
	// and keeps the account's other roles. All of them: it follows the
	// account.
	a := sess.account
	if !a.Admin {
		d.Chosen = map[int64]bool{}
		var chosen []int64
		for _, raw := range r.PostForm["study"] {
			id, err := strconv.ParseInt(raw, 10, 64)
			if err == nil && slices.Contains(a.Manage, id) && !d.Chosen[id] {
				d.Chosen[id] = true
				chosen = append(chosen, id)
			}
		}
		if len(chosen) == 0 {
			d.Errors = map[string]string{"study": "Tick at least one study for the token to manage."}
			s.tokensPage(w, r, sess, http.StatusUnprocessableEntity, d)
			return
		}
		if len(chosen) < len(slices.Compact(slices.Sorted(slices.Values(a.Manage)))) {
			in.Roles = &hookshot.TokenRoles{PublishAll: a.PublishAll, Publish: a.Publish, Manage: chosen}
		}
	}
	tok, secret, err := s.svc.Accounts.CreateMyToken(r.Context(), sess.principal(), in)
	var e *hookshot.Error
	if errors.As(err, &e) && e.Code == hookshot.EInvalid {
		d.Errors = map[string]string{}
		for _, f := range e.FieldErrors {
			d.Errors[f.Field] = "The name " + f.Message + "."
		}
		s.tokensPage(w, r, sess, http.StatusUnprocessableEntity, d)
		return
	}
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	s.tokensPage(w, r, sess, http.StatusCreated, tokensData{Created: tok, Secret: secret})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, sess *session) {
	if _, err := s.svc.Accounts.RevokeMyToken(r.Context(), sess.principal(), pathID(r, "token")); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	redirect(w, r, "/tokens", "token-revoked")
}
