package service

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/catalog"
	"github.com/hookshot/hookshot/internal/clock"
	"github.com/hookshot/hookshot/webhook"
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
	Description string
	URL         string
	Auth        *AuthInput
	// Format is webhook.FormatActiGraph (also for "") or
	// webhook.FormatStandard.
	Format       string
	Events       []string
	EventOptions map[string]hookshot.EventOptions
	Active       *bool
}

// WebhookPatch edits a webhook: nil fields stay as they are. In Auth, empty
// credentials keep the stored ones as long as the type stays the same, so
// a username or scope can change without re-entering a secret.
type WebhookPatch struct {
	Description  *string
	URL          *string
	Auth         *AuthInput
	Format       *string
	Events       *[]string
	EventOptions *map[string]hookshot.EventOptions
	Active       *bool
}

const maxURLLength = 2048

// Webhooks manages a study's webhooks for its managers. It is safe for
// concurrent use.
type Webhooks struct {
	base
	store     hookshot.Store
	catalog   *catalog.Catalog
	sealer    Sealer
	notifier  Notifier
	allowHTTP bool
	limit     *ManualLimit
}

// WebhooksConfig is the part of the operator's settings that Webhooks
// applies.
type WebhooksConfig struct {
	// AllowHTTP accepts http:// targets (HOOKSHOT_ALLOW_HTTP).
	AllowHTTP bool
	// Limit bounds the validations people start, per webhook; nil for a
	// limit of this service's own. Share one with Events.
	Limit *ManualLimit
}

// NewWebhooks returns the webhooks service over store. The catalog names
// the event types a webhook may subscribe to, sealer seals credentials,
// and notifier (which may be nil) is told when a validation request is
// due. A nil clk is the system clock.
func NewWebhooks(store hookshot.Store, cat *catalog.Catalog, sealer Sealer, notifier Notifier, clk clock.Clock, cfg WebhooksConfig) *Webhooks {
	if cfg.Limit == nil {
		cfg.Limit = NewManualLimit(clk)
	}
	return &Webhooks{base: newBase(clk), store: store, catalog: cat, sealer: sealer, notifier: notifier, allowHTTP: cfg.AllowHTTP, limit: cfg.Limit}
}

// Authorize returns nil when p may manage the study's webhooks, and
// otherwise the error that every method of Webhooks answers p with for
// that study: ENotFound when p may not see the study at all, EForbidden
// when p sees it only as a publisher. It is for pages that show nothing of
// the study yet, such as an empty form.
func (s *Webhooks) Authorize(p *hookshot.Principal, studyID int64) error {
	return mayManage(p, studyID)
}

// List returns a study's webhooks, oldest first.
func (s *Webhooks) List(ctx context.Context, p *hookshot.Principal, studyID int64) ([]*hookshot.Webhook, error) {
	if err := mayManage(p, studyID); err != nil {
		return nil, err
	}
	return s.store.Webhooks(ctx, studyID)
}

// Get returns one webhook of a study, or ENotFound.
func (s *Webhooks) Get(ctx context.Context, p *hookshot.Principal, studyID, id int64) (*hookshot.Webhook, error) {
	if err := mayManage(p, studyID); err != nil {
		return nil, err
	}
	return findWebhook(ctx, s.store, studyID, id)
}

// findWebhook reads a webhook for a caller already checked, with a
// not-found message for people.
func findWebhook(ctx context.Context, store hookshot.Store, studyID, id int64) (*hookshot.Webhook, error) {
	w, err := store.Webhook(ctx, studyID, id)
	if err != nil {
		return nil, notFound(err, "Webhook %d does not exist in study %d.", id, studyID)
	}
	return w, nil
}

// Create checks in, stores the webhook with its credentials sealed,
// starts its validation (SPEC §5), and records it in the audit trail as
// p's doing. Bad input is EInvalid, with every problem named, and stores
// nothing.
func (s *Webhooks) Create(ctx context.Context, p *hookshot.Principal, studyID int64, in WebhookInput) (*hookshot.Webhook, error) {
	w, _, err := s.CreateWithSecret(ctx, p, studyID, in)
	return w, err
}

// CreateWithSecret is Create, and also returns the secret it generated,
// if any: format standard with hmac authentication and no secret given
// gets a new whsec_ secret, which the caller shows once, as it is never
// shown again.
func (s *Webhooks) CreateWithSecret(ctx context.Context, p *hookshot.Principal, studyID int64, in WebhookInput) (*hookshot.Webhook, string, error) {
	if err := mayManage(p, studyID); err != nil {
		return nil, "", err
	}
	auth := AuthInput{Type: hookshot.AuthNone}
	if in.Auth != nil {
		auth = *in.Auth
	}
	format := in.Format
	if format == "" {
		format = webhook.FormatActiGraph
	}
	generated := ""
	if format == webhook.FormatStandard && auth.Type == hookshot.AuthHMAC && auth.Secret == "" {
		generated = webhook.NewSecret()
		auth.Secret = generated
	}
	var problems []hookshot.FieldError
	problems = append(problems, checkDescription(in.Description)...)
	problems = append(problems, s.checkURL("url", in.URL)...)
	problems = append(problems, checkFormat(format)...)
	problems = append(problems, s.checkAuth(auth, hookshot.Credentials{})...)
	problems = append(problems, checkAuthFormat(auth.Type, format, auth.Secret, auth.Secret == generated)...)
	problems = append(problems, checkAuthText(auth)...)
	events, evProblems := s.checkEvents(in.Events, in.EventOptions)
	problems = append(problems, evProblems...)
	if len(problems) > 0 {
		return nil, "", hookshot.Invalid("The webhook was not created: "+summary(problems), problems...)
	}
	if auth.Type == hookshot.AuthEd25519 {
		if _, err := s.ensureSigningKey(ctx, studyID); err != nil {
			return nil, "", err
		}
	}
	sealed, err := s.sealer.Seal(auth.credentials())
	if err != nil {
		return nil, "", fmt.Errorf("sealing credentials: %w", err)
	}
	t := s.clock.Now()
	w := &hookshot.Webhook{
		Format:            format,
		StudyID:           studyID,
		Description:       in.Description,
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
	e := s.entry(p, hookshot.AuditCreated, studyID, "webhook "+hookshot.AuditNewID, "events "+strings.Join(w.Events, ", "))
	if err := s.store.CreateWebhook(ctx, w, d, e); err != nil {
		return nil, "", err
	}
	notify(s.notifier)
	return w, generated, nil
}

// Update applies a patch. A change of URL, authentication type or
// credentials starts a new validation; until it passes, the webhook gets no
// events. Bad input is EInvalid and changes nothing; an unknown webhook is
// ENotFound.
func (s *Webhooks) Update(ctx context.Context, p *hookshot.Principal, studyID, id int64, patch WebhookPatch) (*hookshot.Webhook, error) {
	if err := mayManage(p, studyID); err != nil {
		return nil, err
	}
	w, err := findWebhook(ctx, s.store, studyID, id)
	if err != nil {
		return nil, err
	}
	var problems []hookshot.FieldError
	revalidate := false
	if patch.Description != nil {
		problems = append(problems, checkDescription(*patch.Description)...)
		w.Description = *patch.Description
	}
	if patch.URL != nil {
		problems = append(problems, s.checkURL("url", *patch.URL)...)
		revalidate = revalidate || *patch.URL != w.URL
		w.URL = *patch.URL
	}
	format := w.Format
	if patch.Format != nil {
		format = *patch.Format
		if format == "" {
			format = webhook.FormatActiGraph
		}
		problems = append(problems, checkFormat(format)...)
		// A receiver must be ready for the new format before it gets
		// events in it.
		revalidate = revalidate || format != w.Format
		w.Format = format
	}
	stored, err := s.sealer.Open(w.SealedCredentials)
	if err != nil {
		return nil, fmt.Errorf("opening credentials of webhook %d: %w", w.ID, err)
	}
	if patch.Auth == nil && patch.Format != nil {
		problems = append(problems, checkAuthFormat(w.Auth.Type, format, stored.Secret, false)...)
	}
	if patch.Auth != nil {
		keep := hookshot.Credentials{}
		if patch.Auth.Type == w.Auth.Type {
			keep = stored
		}
		problems = append(problems, s.checkAuth(*patch.Auth, keep)...)
		problems = append(problems, checkAuthText(*patch.Auth)...)
		creds := mergeCredentials(patch.Auth.credentials(), keep)
		problems = append(problems, checkAuthFormat(patch.Auth.Type, format, creds.Secret, false)...)
		if creds.Secret == stored.Secret && patch.Auth.Type == w.Auth.Type {
			// An edit that keeps the secret keeps a rotation's overlap.
			creds.PreviousSecret = stored.PreviousSecret
		} else {
			w.PreviousSecretUntil = nil
		}
		if patch.Auth.public() != w.Auth || creds != stored {
			revalidate = true
		}
		if len(problems) == 0 && patch.Auth.Type == hookshot.AuthEd25519 {
			if _, err := s.ensureSigningKey(ctx, studyID); err != nil {
				return nil, err
			}
		}
		if len(problems) == 0 {
			sealed, err := s.sealer.Seal(creds)
			if err != nil {
				return nil, fmt.Errorf("sealing credentials: %w", err)
			}
			w.SealedCredentials = sealed
		}
		w.Auth = patch.Auth.public()
	}
	events, opts := w.Events, w.EventOptions
	if patch.Events != nil {
		events = *patch.Events
	}
	if patch.EventOptions != nil {
		opts = *patch.EventOptions
	} else if patch.Events != nil {
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
	if patch.Active != nil {
		w.Active = *patch.Active
	}
	var d *hookshot.Delivery
	if revalidate {
		// An edit that sends a validation request sends it to a receiver
		// that may not be the caller's: it counts like Validate.
		if err := s.limit.allow(id, "validations"); err != nil {
			return nil, err
		}
		d = s.validationDelivery(w)
		w.Validation = hookshot.Validation{Status: hookshot.ValidationPending, DeliveryID: d.ID}
	}
	w.UpdatedAt = s.clock.Now()
	if err := s.store.UpdateWebhook(ctx, w, d, s.entry(p, hookshot.AuditChanged, studyID, webhookTarget(id), patch.fields())); err != nil {
		return nil, err
	}
	if d != nil {
		notify(s.notifier)
	}
	return w, nil
}

// fields names the fields a patch sets, for the audit trail.
func (p WebhookPatch) fields() string {
	var names []string
	for _, f := range []struct {
		name string
		set  bool
	}{{"description", p.Description != nil}, {"url", p.URL != nil}, {"auth", p.Auth != nil}, {"format", p.Format != nil}, {"events", p.Events != nil}, {"event_options", p.EventOptions != nil}, {"active", p.Active != nil}} {
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

// Validate starts a new validation request and returns the webhook with
// its validation pending, and the validation delivery. An unknown webhook
// is ENotFound.
func (s *Webhooks) Validate(ctx context.Context, p *hookshot.Principal, studyID, id int64) (*hookshot.Webhook, *hookshot.Delivery, error) {
	if err := mayManage(p, studyID); err != nil {
		return nil, nil, err
	}
	w, err := findWebhook(ctx, s.store, studyID, id)
	if err != nil {
		return nil, nil, err
	}
	if err := s.limit.allow(id, "validations"); err != nil {
		return nil, nil, err
	}
	d := s.validationDelivery(w)
	w.Validation = hookshot.Validation{Status: hookshot.ValidationPending, DeliveryID: d.ID}
	w.UpdatedAt = s.clock.Now()
	e := s.entry(p, hookshot.AuditValidated, studyID, webhookTarget(id), "validation delivery "+d.ID)
	if err := s.store.UpdateWebhook(ctx, w, d, e); err != nil {
		return nil, nil, err
	}
	notify(s.notifier)
	return w, d, nil
}

// SetActive enables or disables a webhook. A disabled webhook gets no new
// deliveries, and those in progress are held until it is enabled again,
// when they carry on by their schedule. Enabling clears the reason the
// service disabled it for, and starts its run of failures afresh. Enabling an enabled
// webhook changes nothing and is not audited. An unknown webhook is
// ENotFound.
func (s *Webhooks) SetActive(ctx context.Context, p *hookshot.Principal, studyID, id int64, active bool) (*hookshot.Webhook, error) {
	if err := mayManage(p, studyID); err != nil {
		return nil, err
	}
	w, err := findWebhook(ctx, s.store, studyID, id)
	if err != nil {
		return nil, err
	}
	if w.Active == active {
		return w, nil
	}
	w.Active = active
	w.UpdatedAt = s.clock.Now()
	action := hookshot.AuditDisabled
	if active {
		action = hookshot.AuditEnabled
	}
	if err := s.store.UpdateWebhook(ctx, w, nil, s.entry(p, action, studyID, webhookTarget(id), "")); err != nil {
		return nil, err
	}
	return w, nil
}

// Delete removes a webhook with its deliveries and their attempts, or is
// ENotFound.
func (s *Webhooks) Delete(ctx context.Context, p *hookshot.Principal, studyID, id int64) error {
	if err := mayManage(p, studyID); err != nil {
		return err
	}
	if err := s.store.DeleteWebhook(ctx, studyID, id, s.entry(p, hookshot.AuditDeleted, studyID, webhookTarget(id), "")); err != nil {
		return notFound(err, "Webhook %d does not exist in study %d.", id, studyID)
	}
	return nil
}

func (s *Webhooks) validationDelivery(w *hookshot.Webhook) *hookshot.Delivery {
	t := s.clock.Now()
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

func (s *Webhooks) checkURL(field, raw string) []hookshot.FieldError {
	bad := func(msg string) []hookshot.FieldError {
		return []hookshot.FieldError{{Field: field, Message: msg}}
	}
	if raw == "" {
		return bad("is required: the https:// address that receives the webhooks")
	}
	if tooLong := checkText(field, raw, maxURLLength); tooLong != nil {
		return tooLong
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("is not a valid URL: " + strings.TrimPrefix(err.Error(), "parse "))
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && s.allowHTTP:
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
func (s *Webhooks) checkAuth(a AuthInput, stored hookshot.Credentials) []hookshot.FieldError {
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
	case hookshot.AuthNone, hookshot.AuthEd25519:
		// Nothing is shared: with ed25519 the study's signing key signs.
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
		out = append(out, hookshot.FieldError{Field: "auth.type", Message: "is required: one of none, basic, hmac, oauth2, ed25519"})
	default:
		out = append(out, hookshot.FieldError{Field: "auth.type", Message: fmt.Sprintf("%q is not an authentication type; use one of none, basic, hmac, oauth2, ed25519", a.Type)})
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
func (s *Webhooks) checkEvents(events []string, opts map[string]hookshot.EventOptions) ([]string, []hookshot.FieldError) {
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

func (s *Webhooks) eventNames() []string {
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
