package deploy

import (
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Our inputs have exactly the SDK's exported fields, with the same types: a field the
// SDK adds or changes fails here when the module is updated.
func TestAWSInputsMatchTheSDK(t *testing.T) {
	for _, tc := range []struct{ ours, sdk any }{
		{TaskDefinition{}, ecs.RegisterTaskDefinitionInput{}},
		{CreateSecret{}, secretsmanager.CreateSecretInput{}},
	} {
		ours, sdk := reflect.TypeOf(tc.ours), reflect.TypeOf(tc.sdk)
		want := map[string]reflect.Type{}
		for f := range sdk.Fields() {
			if f.IsExported() {
				want[f.Name] = f.Type
			}
		}
		got := map[string]reflect.Type{}
		for f := range ours.Fields() {
			got[f.Name] = f.Type
		}
		for name, typ := range want {
			if got[name] != typ {
				t.Errorf("%s.%s is %v, the SDK's %s has %v", ours.Name(), name, got[name], sdk.Name(), typ)
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				t.Errorf("%s.%s is not in the SDK's %s", ours.Name(), name, sdk.Name())
			}
		}
	}
}
