package deploy

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/docker-magents/docker-magents/internal/manifest"
)

// The field trees of the API types rendered documents must decode into: Kubernetes'
// core, apps and networking v1 objects and Cloud Run's Knative serving v1 Service (names
// matched exactly, as the API server's strict field validation does) and the AWS inputs (ecs.RegisterTaskDefinitionInput,
// secretsmanager.CreateSecretInput, []ecs types.Secret; names folded, as the SDK's
// encoding/json does). shapes_test.go derives them from the types themselves and fails
// when these differ (go test ./internal/deploy -update rewrites them).
var (
	//go:embed shapes/kubernetes.json
	kubernetesShapesJSON []byte
	//go:embed shapes/aws.json
	awsShapesJSON []byte
	//go:embed shapes/cloudrun.json
	cloudRunShapesJSON []byte

	// Decoded on first use: most commands render nothing.
	kubernetesShapes = sync.OnceValue(func() *manifest.Shapes { return mustShapes(kubernetesShapesJSON) })
	awsShapes        = sync.OnceValue(func() *manifest.Shapes { return mustShapes(awsShapesJSON) })
	cloudRunShapes   = sync.OnceValue(func() *manifest.Shapes { return mustShapes(cloudRunShapesJSON) })
)

func mustShapes(b []byte) *manifest.Shapes {
	var s manifest.Shapes
	if err := json.Unmarshal(b, &s); err != nil {
		panic(fmt.Sprintf("deploy: the embedded API shapes do not decode: %v", err))
	}
	return &s
}

// checkYAML converts a rendered YAML document to JSON once and checks it (checkJSON).
func checkYAML(shapes *manifest.Shapes, root string, doc []byte, into any) error {
	j, err := manifest.ToJSON(doc)
	if err != nil {
		return err
	}
	return checkJSON(shapes, root, j, into)
}

// checkJSON checks a rendered JSON document against root's shape and decodes it into
// into (what the caller reads of it; nil for nothing).
func checkJSON(shapes *manifest.Shapes, root string, doc []byte, into any) error {
	if err := shapes.Check(root, doc); err != nil {
		return err
	}
	if into == nil {
		return nil
	}
	return json.Unmarshal(doc, into)
}
