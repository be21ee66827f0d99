package gateway

import (
	"context"
	"encoding/json"

	"go-micro.dev/v4/metadata"
)

func metadataFrom(ctx context.Context) (metadata.Metadata, bool) { return metadata.FromContext(ctx) }

var jsonUnmarshal = json.Unmarshal
