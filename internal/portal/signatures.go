package portal

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

// secretData is the page that shows a generated secret, once.
type secretData struct {
	Webhook *hookshot.Webhook
	Secret  string
	Message string
}

// showSecret shows a secret Hookshot generated, the only time it is ever
// shown. The page is rendered in answer to the POST, not after a
// redirect, so its address holds nothing and no later visit repeats it;
// render sends it with Cache-Control: no-store.
func (s *Server) showSecret(w http.ResponseWriter, r *http.Request, sess *session, hook *hookshot.Webhook, secret, message string) {
	s.render(w, r, http.StatusOK, "secret", &view{
		Title: "The webhook's new secret", Account: sess.account, CSRF: sess.csrf, Study: hook.StudyID,
		Data: secretData{Webhook: hook, Secret: secret, Message: message},
	})
}

// rotateSecret replaces an hmac webhook's secret from Details: the new
// one typed in, or generated and shown once; the old one keeps signing
// for the chosen overlap.
func (s *Server) rotateSecret(w http.ResponseWriter, r *http.Request, sess *session, study int64) {
	hook, ok := s.webhook(w, r, sess, study)
	if !ok {
		return
	}
	_ = r.ParseForm()
	overlap, err := service.ParseOverlap(r.PostForm.Get("overlap"))
	if err == nil {
		var generated string
		hook, generated, err = s.svc.Webhooks.RotateSecret(r.Context(), sess.principal(), study, hook.ID, strings.TrimSpace(r.PostForm.Get("new_secret")), overlap)
		if err == nil {
			if generated != "" {
				s.showSecret(w, r, sess, hook, generated, "The secret was replaced. The old one keeps signing until "+hook.PreviousSecretUntil.UTC().Format("2006-01-02 15:04:05 UTC")+".")
				return
			}
			redirect(w, r, webhookPath(study, hook.ID), "rotated")
			return
		}
	}
	msg := hookshot.ErrorMessage(err)
	var e *hookshot.Error
	if errors.As(err, &e) && len(e.FieldErrors) > 0 {
		msgs := make([]string, len(e.FieldErrors))
		for i, fe := range e.FieldErrors {
			msgs[i] = sentence(fe.Message)
		}
		msg = "The secret was not rotated: " + strings.Join(msgs, " ")
	}
	s.rotationRefused(w, r, sess, study, hook, err, msg)
}

// rotateSigningKey adds a new Ed25519 key to the study from the Details
// page of one of its ed25519 webhooks; the old key keeps signing, and
// stays in the JWKS, for the chosen overlap.
func (s *Server) rotateSigningKey(w http.ResponseWriter, r *http.Request, sess *session, study int64) {
	hook, ok := s.webhook(w, r, sess, study)
	if !ok {
		return
	}
	_ = r.ParseForm()
	overlap, err := service.ParseOverlap(r.PostForm.Get("key_overlap"))
	if err == nil {
		if _, err = s.svc.Webhooks.RotateSigningKey(r.Context(), sess.principal(), study, overlap); err == nil {
			redirect(w, r, webhookPath(study, hook.ID), "key-rotated")
			return
		}
	}
	s.rotationRefused(w, r, sess, study, hook, err, "The signing key was not rotated: "+hookshot.ErrorMessage(err))
}

// rotationRefused answers a rotation that failed: a refused input shows
// Details again with msg beside the rotation forms; any other error is
// the portal's usual failure page.
func (s *Server) rotationRefused(w http.ResponseWriter, r *http.Request, sess *session, study int64, hook *hookshot.Webhook, err error, msg string) {
	if hookshot.ErrorCode(err) != hookshot.EInvalid {
		s.fail(w, r, sess, err)
		return
	}
	d, derr := s.rotationPage(r, sess, hook)
	if derr != nil {
		s.fail(w, r, sess, derr)
		return
	}
	d.RotateError = msg
	s.render(w, r, http.StatusUnprocessableEntity, "webhook", &view{
		Title: webhookName(hook), Account: sess.account, CSRF: sess.csrf, Study: study, Data: d,
	})
}

// addSignatures adds what Details shows of the webhook's signing: the end
// of a secret rotation's overlap while it lasts, and the study's keys for
// ed25519.
func (s *Server) addSignatures(r *http.Request, d *detailsData) error {
	hook := d.Webhook
	if hook.SignsWithPrevious(time.Now()) {
		d.OverlapUntil = hook.PreviousSecretUntil
	}
	if hook.Auth.Type == hookshot.AuthEd25519 {
		keys, err := s.svc.Webhooks.SigningKeys(r.Context(), hook.StudyID)
		if err != nil {
			return err
		}
		d.SigningKeys = keys
	}
	return nil
}

// rotationPage is the Details page, unfiltered, shown again with a
// rotation's error.
func (s *Server) rotationPage(r *http.Request, sess *session, hook *hookshot.Webhook) (*detailsData, error) {
	var filter listFilter
	d, err := s.details(r, sess, hook, "", &filter)
	if err != nil {
		return nil, err
	}
	if err := s.addSignatures(r, d); err != nil {
		return nil, err
	}
	d.Types = s.svc.Events.Catalog().Types()
	d.NewestLink = filter.pageLink(webhookPath(hook.StudyID, hook.ID), "")
	if d.Older != "" {
		d.OlderLink = filter.pageLink(webhookPath(hook.StudyID, hook.ID), d.Older)
	}
	return d, nil
}
