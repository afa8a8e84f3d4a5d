using VpcCni.Cloud;

namespace VpcCni.Hosting.Kubernetes;

/// <summary>Where new ENIs go under custom networking: the node's ENIConfig, by name and by content.</summary>
/// <param name="Name">The ENIConfig's name.</param>
/// <param name="Source">Why this name (label, annotation, default).</param>
/// <param name="Config">The ENIConfig; null when no such object exists.</param>
internal sealed record EniConfigChoice(string Name, string Source, EniConfigInfo? Config);

/// <summary>
/// The node's ENIConfig as the informers see it now: the name from the Node's labels and annotations, the object from
/// the ENIConfig watch. Read at every ENI creation, so a changed label or ENIConfig applies to ENIs created afterwards
/// (existing ENIs keep their subnet, as upstream).
/// </summary>
internal sealed class NodeEniConfig(Informer<NodeInfo> node, Informer<EniConfigInfo> configs, KubernetesApiSettings settings)
{
    /// <summary>The current choice; null until the Node has been read.</summary>
    public EniConfigChoice? Current
    {
        get
        {
            var items = node.Items;
            if (items.Count == 0)
            {
                return null;
            }

            var (name, source) = EniConfigSelector.Select(items[0], settings.EniConfigAnnotationKey, settings.EniConfigLabelKey);
            return new EniConfigChoice(name, source, configs.TryGet(name, out var config) ? config : null);
        }
    }

    /// <summary>
    /// The subnet(s) and security groups for a new ENI, or a <see cref="CloudException"/> of kind
    /// <see cref="CloudErrorKind.InvalidConfiguration"/> naming what is missing (no ENI is created then).
    /// </summary>
    public EniCreateRequest Place(EniCreateRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!node.HasSynced || !configs.HasSynced)
        {
            // A refused list (403: the ClusterRole lacks eniconfigs or nodes) is named here, so it reaches the pod's event.
            var why = (configs.HasSynced ? null : configs.LastFailure) ?? (node.HasSynced ? null : node.LastFailure);
            throw new CloudException(CloudErrorKind.InvalidConfiguration,
                $"eniconfig: custom networking waits for the Kubernetes API: node {settings.NodeName} and the ENIConfigs are not read yet"
                + (why is null ? "" : $" ({why})"));
        }

        var choice = Current ?? throw new CloudException(CloudErrorKind.InvalidConfiguration,
            $"eniconfig: node {settings.NodeName} is not in the API server, so its ENIConfig is unknown");
        if (choice.Config is null)
        {
            throw new CloudException(CloudErrorKind.InvalidConfiguration,
                $"eniconfig: ENIConfig \"{choice.Name}\" (from the node's {choice.Source}) is not available: create it or label the node with another");
        }

        if (choice.Config.Problem is { } problem)
        {
            throw new CloudException(CloudErrorKind.InvalidConfiguration, $"eniconfig: ENIConfig \"{choice.Name}\" cannot be used: {problem}");
        }

        var groups = choice.Config.SecurityGroups.Count > 0 ? choice.Config.SecurityGroups : null;
        return choice.Config.Subnets.Count == 1
            ? request with { SubnetId = choice.Config.Subnets[0], SubnetIds = null, SecurityGroupIds = groups }
            : request with { SubnetId = null, SubnetIds = choice.Config.Subnets, SecurityGroupIds = groups };
    }
}
