package portal

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/catalog"
	"github.com/hookshot/hookshot/internal/service"
)

// webhookForm is the New and Edit form as the browser sent it. Secrets
// are never put back into a form: after an error they must be typed again.
type webhookForm struct {
	Editing     bool
	Description string
	URL         string
	Format      string
	AuthType    string
	Username    string
	TokenURL    string
	ClientID    string
	Scope       string
	// ChangeCredentials is the Edit form's "change credentials" box:
	// unticked, the stored secrets stay whatever the secret fields hold.
	ChangeCredentials bool
	Events            []string
	// Options holds the ticked values of each event type's options, keyed
	// "<type>.<option>", e.g. "upload.statuses".
	Options map[string][]string
	Active  bool

	// Errors are messages for the form's fields, keyed by field name;
	// Problems are those that concern no single field.
	Errors   map[string]string
	Problems []string

	// secret is what was typed in the chosen type's secret field.
	secret string
}

// The secret field of each authentication type.
var secretField = map[hookshot.AuthType]string{
	hookshot.AuthBasic:  "password",
	hookshot.AuthHMAC:   "secret",
	hookshot.AuthOAuth2: "client_secret",
}

func formFromWebhook(w *hookshot.Webhook) *webhookForm {
	f := &webhookForm{
		Editing:     true,
		Description: w.Description,
		URL:         w.URL,
		Format:      w.Format,
		AuthType:    string(w.Auth.Type),
		Username:    w.Auth.Username,
		TokenURL:    w.Auth.TokenURL,
		ClientID:    w.Auth.ClientID,
		Scope:       w.Auth.Scope,
		Events:      slices.Clone(w.Events),
		Options:     map[string][]string{},
		Active:      w.Active,
	}
	for name, o := range w.EventOptions {
		if len(o.Statuses) > 0 {
			f.Options[name+"."+catalog.OptionStatuses] = slices.Clone(o.Statuses)
		}
	}
	return f
}

// parseWebhookForm reads the form. Options of event types that are not
// ticked are dropped: a status box left ticked under an unticked type is
// not worth an error.
func parseWebhookForm(r *http.Request, cat *catalog.Catalog, editing bool) *webhookForm {
	_ = r.ParseForm()
	v := r.PostForm
	f := &webhookForm{
		Editing:           editing,
		Description:       strings.TrimSpace(v.Get("description")),
		URL:               strings.TrimSpace(v.Get("url")),
		Format:            v.Get("format"),
		AuthType:          v.Get("auth_type"),
		Username:          strings.TrimSpace(v.Get("username")),
		TokenURL:          strings.TrimSpace(v.Get("token_url")),
		ClientID:          strings.TrimSpace(v.Get("client_id")),
		Scope:             strings.TrimSpace(v.Get("scope")),
		ChangeCredentials: !editing || v.Get("change_credentials") == "on",
		Events:            v["events"],
		Options:           map[string][]string{},
		Active:            v.Get("active") == "on",
	}
	if field, ok := secretField[hookshot.AuthType(f.AuthType)]; ok {
		f.secret = v.Get(field)
	}
	for _, t := range cat.Types() {
		if !slices.Contains(f.Events, t.Name) {
			continue
		}
		for _, o := range t.Options {
			key := t.Name + "." + o.Name
			if vals := v[key]; len(vals) > 0 {
				f.Options[key] = vals
			}
		}
	}
	return f
}

// auth returns the authentication to save: only the fields of the chosen
// type, and secrets only when credentials are being changed.
func (f *webhookForm) auth() *service.AuthInput {
	a := &service.AuthInput{Type: hookshot.AuthType(f.AuthType)}
	switch a.Type {
	case hookshot.AuthBasic:
		a.Username = f.Username
	case hookshot.AuthOAuth2:
		a.TokenURL, a.ClientID, a.Scope = f.TokenURL, f.ClientID, f.Scope
	}
	if f.ChangeCredentials {
		switch a.Type {
		case hookshot.AuthBasic:
			a.Password = f.secret
		case hookshot.AuthHMAC:
			a.Secret = f.secret
		case hookshot.AuthOAuth2:
			a.ClientSecret = f.secret
		}
	}
	return a
}

func (f *webhookForm) eventOptions() map[string]hookshot.EventOptions {
	out := map[string]hookshot.EventOptions{}
	for key, vals := range f.Options {
		name, option, _ := strings.Cut(key, ".")
		if option == catalog.OptionStatuses {
			out[name] = hookshot.EventOptions{Statuses: vals}
		}
	}
	return out
}

// checkCredentials catches what the service cannot tell on Edit: there an
// empty secret means "keep the stored one", so a ticked "change
// credentials" box with the secret left empty, or a new authentication
// type without ticking the box, would otherwise pass unnoticed.
func (f *webhookForm) checkCredentials(stored hookshot.AuthType) {
	if !f.Editing {
		return
	}
	t := hookshot.AuthType(f.AuthType)
	field, hasSecret := secretField[t]
	switch {
	case !hasSecret:
	case f.ChangeCredentials && f.secret == "":
		f.addError(field, "Enter the new value, or untick “Change credentials” to keep the stored one.")
	case !f.ChangeCredentials && t != stored:
		f.addError("change_credentials", "A new authentication type needs new credentials: tick “Change credentials” and enter them.")
	}
}

func (f *webhookForm) addError(field, message string) {
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	if _, ok := f.Errors[field]; !ok {
		f.Errors[field] = message
	}
}

// setErrors puts the service's field errors next to the form fields they
// concern: "auth.password" belongs to the password field, "events[2]" to
// the event list, "event_options.upload" to upload's options.
func (f *webhookForm) setErrors(err error) bool {
	var e *hookshot.Error
	if !errors.As(err, &e) || e.Code != hookshot.EInvalid {
		return false
	}
	for _, fe := range e.FieldErrors {
		field := fe.Field
		switch {
		case field == "auth.type":
			field = "auth_type"
		case strings.HasPrefix(field, "auth."):
			field = strings.TrimPrefix(field, "auth.")
		case field == "events":
			f.addError("events", "Choose at least one event type.")
			continue
		case strings.HasPrefix(field, "events["):
			field = "events"
		case strings.HasPrefix(field, "event_options."):
			name, _, _ := strings.Cut(strings.TrimPrefix(field, "event_options."), ".")
			field = name + ".options"
		case field == "url", field == "description", field == "format":
		default:
			f.Problems = append(f.Problems, fe.Field+" "+fe.Message)
			continue
		}
		f.addError(field, sentence(fe.Message))
	}
	if len(e.FieldErrors) == 0 {
		f.Problems = append(f.Problems, e.Message)
	}
	return true
}

// sentence turns a field message ("is required: …") into one that stands
// on its own next to the field.
func sentence(msg string) string {
	if strings.HasPrefix(msg, "is ") || strings.HasPrefix(msg, "must ") || strings.HasPrefix(msg, "has ") || strings.HasPrefix(msg, "does ") {
		msg = "This field " + msg
	}
	if msg != "" && !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return strings.ToUpper(msg[:1]) + msg[1:]
}

func (f *webhookForm) HasEvent(name string) bool { return slices.Contains(f.Events, name) }

func (f *webhookForm) HasOption(key, value string) bool {
	return slices.Contains(f.Options[key], value)
}

// Err is the message for a field, or "".
func (f *webhookForm) Err(field string) string { return f.Errors[field] }
