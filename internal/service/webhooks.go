package service

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/hookshot/hookshot"
)

// AuthInput is a webhook's authentication as a caller writes it: the type,
// its non-secret fields and its credentials.
type AuthInput struct {
	Type         hookshot.AuthType `json:"type"`
	Username     string            `json:"username,omitempty"`
	Password     string            `json:"password,omitempty"`
	Secret       string            `json:"secret,omitempty"`
	TokenURL     string            `json:"token_url,omitempty"`
	ClientID     string            `json:"client_id,omitempty"`
	ClientSecret string            `json:"client_secret,omitempty"`
	Scope        string            `json:"scope,omitempty"`
}

func (a AuthInput) credentials() hookshot.Credentials {
	return hookshot.Credentials{Password: a.Password, Secret: a.Secret, ClientSecret: a.ClientSecret}
}

func (a AuthInput) public() hookshot.Auth {
	return hookshot.Auth{Type: a.Type, Username: a.Username, TokenURL: a.TokenURL, ClientID: a.ClientID, Scope: a.Scope}
}

// WebhookInput creates a webhook. A nil Auth means no authentication; a
// nil Active means enabled.
type WebhookInput struct {
	URL          string
	Auth         *AuthInput
	Events       []string
	EventOptions map[string]hookshot.EventOptions
	Active       *bool
}

// WebhookPatch edits a webhook: nil fields stay as they are. In Auth, empty
// credentials keep the stored ones as long as the type stays the same, so
// a username or scope can change without re-entering a secret.
type WebhookPatch struct {
	URL          *string
	Auth         *AuthInput
	Events       *[]string
	EventOptions *map[string]hookshot.EventOptions
	Active       *bool
}

const maxURLLength = 2048

// Webhooks lists a study's webhooks.
func (s *Service) Webhooks(ctx context.Context, studyID int64) ([]*hookshot.Webhook, error) {
	return s.store.Webhooks(ctx, studyID)
}

// Webhook returns one webhook of a study, or a not-found error.
func (s *Service) Webhook(ctx context.Context, studyID, id int64) (*hookshot.Webhook, error) {
	w, err := s.store.Webhook(ctx, studyID, id)
	if err != nil {
		return nil, notFound(err, "Webhook %d does not exist in study %d.", id, studyID)
	}
	return w, nil
}

// CreateWebhook checks in, stores the webhook with its credentials sealed,
// starts its validation (SPEC §5), and records it in the audit trail as
// actor's doing.
func (s *Service) CreateWebhook(ctx context.Context, actor *hookshot.Principal, studyID int64, in WebhookInput) (*hookshot.Webhook, error) {
	auth := AuthInput{Type: hookshot.AuthNone}
	if in.Auth != nil {
		auth = *in.Auth
	}
	var problems []hookshot.FieldError
	problems = append(problems, s.checkURL("url", in.URL)...)
	problems = append(problems, s.checkAuth(auth, hookshot.Credentials{})...)
	events, evProblems := s.checkEvents(in.Events, in.EventOptions)
	problems = append(problems, evProblems...)
	if len(problems) > 0 {
		return nil, hookshot.Invalid("The webhook was not created: "+summary(problems), problems...)
	}
	sealed, err := s.sealer.Seal(auth.credentials())
	if err != nil {
		return nil, fmt.Errorf("sealing credentials: %w", err)
	}
	t := now()
	w := &hookshot.Webhook{
		StudyID:           studyID,
		URL:               in.URL,
		Auth:              auth.public(),
		SealedCredentials: sealed,
		Events:            events,
		EventOptions:      cleanOptions(in.EventOptions),
		Active:            in.Active == nil || *in.Active,
		Validation:        hookshot.Validation{Status: hookshot.ValidationPending},
		CreatedAt:         t,
		UpdatedAt:         t,
	}
	d := s.validationDelivery(w)
	e := s.entry(actor, hookshot.AuditCreated, studyID, "webhook "+hookshot.AuditNewID, "events "+strings.Join(w.Events, ", "))
	if err := s.store.CreateWebhook(ctx, w, d, e); err != nil {
		return nil, err
	}
	s.notify()
	return w, nil
}

// UpdateWebhook applies a patch. A change of URL, authentication type or
// credentials starts a new validation; until it passes, the webhook gets no
// events.
func (s *Service) UpdateWebhook(ctx context.Context, actor *hookshot.Principal, studyID, id int64, p WebhookPatch) (*hookshot.Webhook, error) {
	w, err := s.Webhook(ctx, studyID, id)
	if err != nil {
		return nil, err
	}
	var problems []hookshot.FieldError
	revalidate := false
	if p.URL != nil {
		problems = append(problems, s.checkURL("url", *p.URL)...)
		revalidate = revalidate || *p.URL != w.URL
		w.URL = *p.URL
	}
	if p.Auth != nil {
		stored, err := s.sealer.Open(w.SealedCredentials)
		if err != nil {
			return nil, fmt.Errorf("opening credentials of webhook %d: %w", w.ID, err)
		}
		keep := hookshot.Credentials{}
		if p.Auth.Type == w.Auth.Type {
			keep = stored
		}
		problems = append(problems, s.checkAuth(*p.Auth, keep)...)
		creds := mergeCredentials(p.Auth.credentials(), keep)
		if p.Auth.public() != w.Auth || creds != stored {
			revalidate = true
		}
		if len(problems) == 0 {
			sealed, err := s.sealer.Seal(creds)
			if err != nil {
				return nil, fmt.Errorf("sealing credentials: %w", err)
			}
			w.SealedCredentials = sealed
		}
		w.Auth = p.Auth.public()
	}
	events, opts := w.Events, w.EventOptions
	if p.Events != nil {
		events = *p.Events
	}
	if p.EventOptions != nil {
		opts = *p.EventOptions
	} else if p.Events != nil {
		// Options of event types no longer subscribed go with them.
		kept := map[string]hookshot.EventOptions{}
		for k, v := range opts {
			if slices.Contains(events, k) {
				kept[k] = v
			}
		}
		opts = kept
	}
	events, evProblems := s.checkEvents(events, opts)
	problems = append(problems, evProblems...)
	if len(problems) > 0 {
		return nil, hookshot.Invalid("The webhook was not changed: "+summary(problems), problems...)
	}
	w.Events, w.EventOptions = events, cleanOptions(opts)
	if p.Active != nil {
		w.Active = *p.Active
	}
	var d *hookshot.Delivery
	if revalidate {
		d = s.validationDelivery(w)
		w.Validation = hookshot.Validation{Status: hookshot.ValidationPending, DeliveryID: d.ID}
	}
	w.UpdatedAt = now()
	if err := s.store.UpdateWebhook(ctx, w, d, s.entry(actor, hookshot.AuditChanged, studyID, webhookTarget(id), p.fields())); err != nil {
		return nil, err
	}
	if d != nil {
		s.notify()
	}
	return w, nil
}

// fields names the fields a patch sets, for the audit trail.
func (p WebhookPatch) fields() string {
	var names []string
	for _, f := range []struct {
		name string
		set  bool
	}{{"url", p.URL != nil}, {"auth", p.Auth != nil}, {"events", p.Events != nil}, {"event_options", p.EventOptions != nil}, {"active", p.Active != nil}} {
		if f.set {
			names = append(names, f.name)
		}
	}
	if len(names) == 0 {
		return "nothing"
	}
	return strings.Join(names, ", ")
}

func webhookTarget(id int64) string { return fmt.Sprintf("webhook %d", id) }

// ValidateWebhook starts a new validation request and returns the webhook
// with its validation pending, and the validation delivery.
func (s *Service) ValidateWebhook(ctx context.Context, actor *hookshot.Principal, studyID, id int64) (*hookshot.Webhook, *hookshot.Delivery, error) {
	w, err := s.Webhook(ctx, studyID, id)
	if err != nil {
		return nil, nil, err
	}
	d := s.validationDelivery(w)
	w.Validation = hookshot.Validation{Status: hookshot.ValidationPending, DeliveryID: d.ID}
	w.UpdatedAt = now()
	e := s.entry(actor, hookshot.AuditValidated, studyID, webhookTarget(id), "validation delivery "+d.ID)
	if err := s.store.UpdateWebhook(ctx, w, d, e); err != nil {
		return nil, nil, err
	}
	s.notify()
	return w, d, nil
}

// SetActive enables or disables a webhook. A disabled webhook gets no new
// deliveries; those already under way carry on. Enabling an enabled
// webhook changes nothing and is not audited.
func (s *Service) SetActive(ctx context.Context, actor *hookshot.Principal, studyID, id int64, active bool) (*hookshot.Webhook, error) {
	w, err := s.Webhook(ctx, studyID, id)
	if err != nil {
		return nil, err
	}
	if w.Active == active {
		return w, nil
	}
	w.Active = active
	w.UpdatedAt = now()
	action := hookshot.AuditDisabled
	if active {
		action = hookshot.AuditEnabled
	}
	if err := s.store.UpdateWebhook(ctx, w, nil, s.entry(actor, action, studyID, webhookTarget(id), "")); err != nil {
		return nil, err
	}
	return w, nil
}

// DeleteWebhook removes a webhook with its deliveries and their attempts.
func (s *Service) DeleteWebhook(ctx context.Context, actor *hookshot.Principal, studyID, id int64) error {
	if err := s.store.DeleteWebhook(ctx, studyID, id, s.entry(actor, hookshot.AuditDeleted, studyID, webhookTarget(id), "")); err != nil {
		return notFound(err, "Webhook %d does not exist in study %d.", id, studyID)
	}
	return nil
}

func (s *Service) validationDelivery(w *hookshot.Webhook) *hookshot.Delivery {
	t := now()
	return &hookshot.Delivery{
		ID:             newID(),
		WebhookID:      w.ID,
		StudyID:        w.StudyID,
		Event:          hookshot.EventValidation,
		Status:         hookshot.DeliveryInProgress,
		MaxAttempts:    1,
		NextAttemptAt:  t,
		ValidationCode: newValidationCode(),
		TraceParent:    newTraceParent(),
		CreatedAt:      t,
		UpdatedAt:      t,
	}
}

func (s *Service) checkURL(field, raw string) []hookshot.FieldError {
	bad := func(msg string) []hookshot.FieldError {
		return []hookshot.FieldError{{Field: field, Message: msg}}
	}
	if raw == "" {
		return bad("is required: the https:// address that receives the webhooks")
	}
	if len(raw) > maxURLLength {
		return bad(fmt.Sprintf("is longer than %d characters", maxURLLength))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("is not a valid URL: " + strings.TrimPrefix(err.Error(), "parse "))
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && s.cfg.AllowHTTP:
	case u.Scheme == "http":
		return bad("must start with https://; plain http:// is refused unless the operator sets HOOKSHOT_ALLOW_HTTP")
	default:
		return bad("must be an absolute https:// URL")
	}
	if u.Host == "" || u.Hostname() == "" {
		return bad("has no host name")
	}
	if u.User != nil {
		return bad("must not carry a user name or password; use auth instead, where credentials are kept encrypted")
	}
	if u.Fragment != "" {
		return bad("must not have a #fragment")
	}
	return nil
}

// checkAuth checks a for completeness; stored holds credentials that empty
// fields fall back to (editing without re-entering a secret).
func (s *Service) checkAuth(a AuthInput, stored hookshot.Credentials) []hookshot.FieldError {
	var out []hookshot.FieldError
	need := func(field, value, fallback, what string) {
		if value == "" && fallback == "" {
			out = append(out, hookshot.FieldError{Field: "auth." + field, Message: "is required for " + string(a.Type) + " authentication: " + what})
		}
	}
	forbid := func(field, value string) {
		if value != "" {
			out = append(out, hookshot.FieldError{Field: "auth." + field, Message: "does not belong to " + string(a.Type) + " authentication"})
		}
	}
	switch a.Type {
	case hookshot.AuthNone:
		forbid("username", a.Username)
		forbid("password", a.Password)
		forbid("secret", a.Secret)
		forbid("token_url", a.TokenURL)
		forbid("client_id", a.ClientID)
		forbid("client_secret", a.ClientSecret)
		forbid("scope", a.Scope)
	case hookshot.AuthBasic:
		need("username", a.Username, "", "the user name the receiver expects")
		need("password", a.Password, stored.Password, "the password the receiver expects")
		if strings.Contains(a.Username, ":") {
			out = append(out, hookshot.FieldError{Field: "auth.username", Message: "must not contain a colon (Basic authentication joins user and password with one)"})
		}
		forbid("secret", a.Secret)
		forbid("token_url", a.TokenURL)
		forbid("client_id", a.ClientID)
		forbid("client_secret", a.ClientSecret)
		forbid("scope", a.Scope)
	case hookshot.AuthHMAC:
		need("secret", a.Secret, stored.Secret, "the shared key the signature is computed with")
		forbid("username", a.Username)
		forbid("password", a.Password)
		forbid("token_url", a.TokenURL)
		forbid("client_id", a.ClientID)
		forbid("client_secret", a.ClientSecret)
		forbid("scope", a.Scope)
	case hookshot.AuthOAuth2:
		if a.TokenURL == "" {
			need("token_url", "", "", "the https:// address of the OAuth2 token endpoint")
		} else {
			out = append(out, s.checkURL("auth.token_url", a.TokenURL)...)
		}
		need("client_id", a.ClientID, "", "the OAuth2 client id")
		need("client_secret", a.ClientSecret, stored.ClientSecret, "the OAuth2 client secret")
		forbid("username", a.Username)
		forbid("password", a.Password)
		forbid("secret", a.Secret)
	case "":
		out = append(out, hookshot.FieldError{Field: "auth.type", Message: "is required: one of none, basic, hmac, oauth2"})
	default:
		out = append(out, hookshot.FieldError{Field: "auth.type", Message: fmt.Sprintf("%q is not an authentication type; use one of none, basic, hmac, oauth2", a.Type)})
	}
	return out
}

func mergeCredentials(given, stored hookshot.Credentials) hookshot.Credentials {
	if given.Password == "" {
		given.Password = stored.Password
	}
	if given.Secret == "" {
		given.Secret = stored.Secret
	}
	if given.ClientSecret == "" {
		given.ClientSecret = stored.ClientSecret
	}
	return given
}

// checkEvents checks the subscription and returns the event types without
// duplicates, in the order given.
func (s *Service) checkEvents(events []string, opts map[string]hookshot.EventOptions) ([]string, []hookshot.FieldError) {
	var out []hookshot.FieldError
	if len(events) == 0 {
		out = append(out, hookshot.FieldError{Field: "events", Message: "must name at least one event type: " + strings.Join(s.eventNames(), ", ")})
	}
	var unique []string
	for i, e := range events {
		if _, ok := s.catalog.Lookup(e); !ok {
			out = append(out, hookshot.FieldError{Field: fmt.Sprintf("events[%d]", i), Message: fmt.Sprintf("%q is not an event type; use one of %s", e, strings.Join(s.eventNames(), ", "))})
			continue
		}
		if !slices.Contains(unique, e) {
			unique = append(unique, e)
		}
	}
	for name, o := range opts {
		if !slices.Contains(events, name) {
			out = append(out, hookshot.FieldError{Field: "event_options." + name, Message: "has options, but the webhook is not subscribed to " + name})
			continue
		}
		if err := s.catalog.ValidateOptions(name, o); err != nil {
			out = append(out, hookshot.FieldError{Field: "event_options." + name, Message: hookshot.ErrorMessage(err)})
		}
	}
	slices.SortFunc(out, func(a, b hookshot.FieldError) int { return strings.Compare(a.Field, b.Field) })
	return unique, out
}

func (s *Service) eventNames() []string {
	var names []string
	for _, t := range s.catalog.Types() {
		names = append(names, t.Name)
	}
	return names
}

// cleanOptions drops empty option sets, so "no options" has one spelling.
func cleanOptions(opts map[string]hookshot.EventOptions) map[string]hookshot.EventOptions {
	out := map[string]hookshot.EventOptions{}
	for k, v := range opts {
		if len(v.Statuses) > 0 {
			out[k] = v
		}
	}
	return out
}

func summary(problems []hookshot.FieldError) string {
	parts := make([]string, len(problems))
	for i, p := range problems {
		parts[i] = p.Field + " " + p.Message
	}
	return strings.Join(parts, "; ") + "."
}

// notFound turns a store's ErrNotFound into a message for the caller and
// passes other errors through.
func notFound(err error, format string, args ...any) error {
	if hookshot.ErrorCode(err) == hookshot.ENotFound {
		return hookshot.Errorf(hookshot.ENotFound, format, args...)
	}
	return err
}
