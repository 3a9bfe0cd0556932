package deploy

import (
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// The inputs of the AWS CLI commands the ECS rendering feeds (--cli-input-json). Each has
// the fields of the AWS SDK's input type of that operation, with the SDK's own types
// below the top level, so a rendered document is checked against the API's shapes; the
// SDK's service packages themselves (a whole API client each) stay out of the plugin.
// awsinput_test.go holds each to its SDK type, field by field.

// TaskDefinition is ecs.RegisterTaskDefinitionInput: aws ecs register-task-definition.
type TaskDefinition struct {
	ContainerDefinitions          []ecstypes.ContainerDefinition
	Family                        *string
	Cpu                           *string
	EnableFaultInjection          *bool
	EphemeralStorage              *ecstypes.EphemeralStorage
	ExecutionRoleArn              *string
	InferenceAccelerators         []ecstypes.InferenceAccelerator
	IpcMode                       ecstypes.IpcMode
	Memory                        *string
	NetworkMode                   ecstypes.NetworkMode
	PidMode                       ecstypes.PidMode
	PlacementConstraints          []ecstypes.TaskDefinitionPlacementConstraint
	ProxyConfiguration            *ecstypes.ProxyConfiguration
	RequiresCompatibilities       []ecstypes.Compatibility
	RuntimePlatform               *ecstypes.RuntimePlatform
	Tags                          []ecstypes.Tag
	TaskRoleArn                   *string
	TrustedExecutionConfiguration *ecstypes.TrustedExecutionConfiguration
	Volumes                       []ecstypes.Volume
}

// CreateSecret is secretsmanager.CreateSecretInput: aws secretsmanager create-secret.
type CreateSecret struct {
	Name                        *string
	AddReplicaRegions           []smtypes.ReplicaRegionType
	ClientRequestToken          *string
	Description                 *string
	ForceOverwriteReplicaSecret bool
	KmsKeyId                    *string
	SecretBinary                []byte
	SecretString                *string
	Tags                        []smtypes.Tag
	Type                        *string
}
