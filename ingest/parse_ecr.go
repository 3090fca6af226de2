package ingest

import (
	"errors"
	"strings"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// parseECR reads an Amazon EventBridge event for ECR as an API destination
// delivers it (no input transformer): "ECR Image Action" with action-type
// PUSH and result SUCCESS. The host is the account's registry in the region.
func parseECR(in Input) ([]bus.PushEvent, error) {
	var e struct {
		ID         string   `json:"id"`
		DetailType *string  `json:"detail-type"`
		Account    string   `json:"account"`
		Region     string   `json:"region"`
		Time       flexTime `json:"time"`
		Detail     struct {
			Result         string `json:"result"`
			RepositoryName string `json:"repository-name"`
			ImageDigest    string `json:"image-digest"`
			ActionType     string `json:"action-type"`
			ImageTag       string `json:"image-tag"`
		} `json:"detail"`
	}
	if err := decodeJSON(in.Body, &e); err != nil {
		return nil, err
	}
	if e.DetailType == nil {
		return nil, errors.New(`not an EventBridge event: no "detail-type"`)
	}
	if *e.DetailType != "ECR Image Action" || e.Detail.ActionType != "PUSH" || e.Detail.Result != "SUCCESS" {
		return nil, nil
	}
	return []bus.PushEvent{{
		Registry:   ecrHost(e.Account, e.Region, in.Host),
		Repository: e.Detail.RepositoryName,
		Tag:        e.Detail.ImageTag,
		Digest:     e.Detail.ImageDigest,
		PushedAt:   e.Time.Time,
		DeliveryID: e.ID,
	}}, nil
}

// ecrHost is the registry host of an AWS account in a region
// (<account>.dkr.ecr.<region>.amazonaws.com, .com.cn in China), or the
// configured host when the event names no account or region.
func ecrHost(account, region, fallback string) string {
	if account == "" || region == "" {
		return fallback
	}
	suffix := ".amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		suffix = ".amazonaws.com.cn"
	}
	return account + ".dkr.ecr." + region + suffix
}
