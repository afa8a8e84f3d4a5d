using System.Globalization;
using System.Text.Json.Nodes;
using VpcCni.Aws.Limits;
using VpcCni.Aws.Simulation;
using VpcCni.Cloud;

namespace VpcCni.Aws.Emulation.Kubernetes;

/// <summary>The Node object a simulated instance registers as (what kubelet on an EKS node would post).</summary>
internal static class KubeNodeFactory
{
    /// <summary>
    /// EC2's private DNS name of the instance: <c>ip-10-0-1-5.us-west-2.compute.internal</c>, or
    /// <c>ip-10-0-1-5.ec2.internal</c> in us-east-1 (EKS nodes are named so by default).
    /// </summary>
    public static string NodeName(SimulatedInstance instance, string region)
    {
        ArgumentNullException.ThrowIfNull(instance);
        var host = "ip-" + instance.PrivateIPv4.ToString().Replace('.', '-');
        return region == "us-east-1" ? host + ".ec2.internal" : $"{host}.{region}.compute.internal";
    }

    /// <summary>
    /// Max pods in secondary-IP mode, as upstream's eni-max-pods.txt (and EKS's bootstrap) computes it:
    /// ENIs × (IPv4 per ENI − 1) + 2. (VpcCni.Ipam's MaxPodsCalculator.SecondaryIp; this package may not reference it.)
    /// </summary>
    public static int MaxPods(InstanceLimits limits) => limits.MaxEnis * (limits.IPv4PerEni - 1) + 2;

    public static JsonObject Create(SimulatedInstance instance, string region, TimeProvider time, int? maxPods)
    {
        var name = NodeName(instance, region);
        var limits = InstanceLimitsCatalog.TryGet(instance.InstanceType, out var l) ? l : null;
        var pods = (maxPods ?? (limits is null ? 110 : MaxPods(limits))).ToString(CultureInfo.InvariantCulture);
        JsonObject Resources()
        {
            var r = new JsonObject { ["pods"] = pods };
            if (limits?.VCpus is { } cpus)
            {
                r["cpu"] = cpus.ToString(CultureInfo.InvariantCulture);
            }

            return r;
        }

        var now = KubeObjectStore.Timestamp(time.GetUtcNow());
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Node",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["labels"] = new JsonObject
                {
                    ["kubernetes.io/hostname"] = name,
                    ["kubernetes.io/os"] = "linux",
                    ["kubernetes.io/arch"] = "amd64",
                    ["topology.kubernetes.io/zone"] = instance.AvailabilityZone,
                    ["topology.kubernetes.io/region"] = region,
                    ["node.kubernetes.io/instance-type"] = instance.InstanceType,
                },
            },
            ["spec"] = new JsonObject { ["providerID"] = $"aws:///{instance.AvailabilityZone}/{instance.InstanceId}" },
            ["status"] = new JsonObject
            {
                ["capacity"] = Resources(),
                ["allocatable"] = Resources(),
                ["addresses"] = new JsonArray(
                    new JsonObject { ["type"] = "InternalIP", ["address"] = instance.PrivateIPv4.ToString() },
                    new JsonObject { ["type"] = "InternalDNS", ["address"] = name },
                    new JsonObject { ["type"] = "Hostname", ["address"] = name }),
                ["conditions"] = new JsonArray(new JsonObject
                {
                    ["type"] = "Ready",
                    ["status"] = "True",
                    ["reason"] = "KubeletReady",
                    ["message"] = "kubelet is posting ready status (simulated)",
                    ["lastHeartbeatTime"] = now,
                    ["lastTransitionTime"] = now,
                }),
                ["nodeInfo"] = new JsonObject
                {
                    ["machineID"] = instance.InstanceId,
                    ["systemUUID"] = instance.InstanceId,
                    ["bootID"] = instance.InstanceId,
                    ["kernelVersion"] = "6.1.0",
                    ["osImage"] = "VpcCni simulated node",
                    ["containerRuntimeVersion"] = "containerd://1.7.0",
                    ["kubeletVersion"] = $"v{KubeDiscovery.Major}.{KubeDiscovery.Minor}.0",
                    ["kubeProxyVersion"] = $"v{KubeDiscovery.Major}.{KubeDiscovery.Minor}.0",
                    ["operatingSystem"] = "linux",
                    ["architecture"] = "amd64",
                },
            },
        };
    }
}
