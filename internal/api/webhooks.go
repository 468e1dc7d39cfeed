package api

import (
	"net/http"
	"strconv"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

// webhookRequest is the body of create and edit. Pointers tell "absent"
// from "empty" for PATCH.
type webhookRequest struct {
	Description  *string                           `json:"description"`
	URL          *string                           `json:"url"`
	Auth         *service.AuthInput                `json:"auth"`
	Format       *string                           `json:"format"`
	Events       *[]string                         `json:"events"`
	EventOptions *map[string]hookshot.EventOptions `json:"event_options"`
	Active       *bool                             `json:"active"`
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	study, ok := s.studyPath(w, r)
	if !ok {
		return
	}
	hooks, err := s.svc.Webhooks.List(r.Context(), p, study)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	items := make([]webhookJSON, len(hooks))
	for i, h := range hooks {
		items[i] = renderWebhook(h)
	}
	writeJSON(w, http.StatusOK, list(items, ""))
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	study, ok := s.studyPath(w, r)
	if !ok {
		return
	}
	var req webhookRequest
	if err := decode(r, &req); err != nil {
		s.problem(w, r, err)
		return
	}
	in := service.WebhookInput{Auth: req.Auth, Active: req.Active}
	if req.Description != nil {
		in.Description = *req.Description
	}
	if req.URL != nil {
		in.URL = *req.URL
	}
	if req.Format != nil {
		in.Format = *req.Format
	}
	if req.Events != nil {
		in.Events = *req.Events
	}
	if req.EventOptions != nil {
		in.EventOptions = *req.EventOptions
	}
	hook, generated, err := s.svc.Webhooks.CreateWithSecret(r.Context(), p, study, in)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.log.Info("webhook created", "study_id", study, "webhook_id", hook.ID, "by", p.Name)
	w.Header().Set("Location", "/v1/studies/"+strconv.FormatInt(study, 10)+"/webhooks/"+strconv.FormatInt(hook.ID, 10))
	writeJSON(w, http.StatusCreated, webhookWithSecret{renderWebhook(hook), generated})
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	study, id, ok := s.webhookPath(w, r)
	if !ok {
		return
	}
	hook, err := s.svc.Webhooks.Get(r.Context(), p, study, id)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, renderWebhook(hook))
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	study, id, ok := s.webhookPath(w, r)
	if !ok {
		return
	}
	var req webhookRequest
	if err := decode(r, &req); err != nil {
		s.problem(w, r, err)
		return
	}
	hook, err := s.svc.Webhooks.Update(r.Context(), p, study, id, service.WebhookPatch{
		Description: req.Description, URL: req.URL, Auth: req.Auth, Format: req.Format, Events: req.Events, EventOptions: req.EventOptions, Active: req.Active,
	})
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.log.Info("webhook changed", "study_id", study, "webhook_id", id, "by", p.Name)
	writeJSON(w, http.StatusOK, renderWebhook(hook))
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	study, id, ok := s.webhookPath(w, r)
	if !ok {
		return
	}
	if err := s.svc.Webhooks.Delete(r.Context(), p, study, id); err != nil {
		s.problem(w, r, err)
		return
	}
	s.log.Info("webhook deleted", "study_id", study, "webhook_id", id, "by", p.Name)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) validateWebhook(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	study, id, ok := s.webhookPath(w, r)
	if !ok {
		return
	}
	hook, _, err := s.svc.Webhooks.Validate(r.Context(), p, study, id)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.log.Info("webhook validation started", "study_id", study, "webhook_id", id, "delivery_id", hook.Validation.DeliveryID, "by", p.Name)
	writeJSON(w, http.StatusAccepted, renderWebhook(hook))
}

func (s *Server) enableWebhook(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	s.setActive(w, r, p, true)
}

func (s *Server) disableWebhook(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	s.setActive(w, r, p, false)
}

func (s *Server) setActive(w http.ResponseWriter, r *http.Request, p *hookshot.Principal, active bool) {
	study, id, ok := s.webhookPath(w, r)
	if !ok {
		return
	}
	hook, err := s.svc.Webhooks.SetActive(r.Context(), p, study, id, active)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.log.Info("webhook active changed", "study_id", study, "webhook_id", id, "active", active, "by", p.Name)
	writeJSON(w, http.StatusOK, renderWebhook(hook))
}
