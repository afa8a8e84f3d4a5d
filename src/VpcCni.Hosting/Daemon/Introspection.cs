using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Text.Json;
using VpcCni.Ipam;

namespace VpcCni.Hosting.Daemon;

/// <summary>
/// The introspection API's payloads, with upstream's paths and shapes (pkg/ipamd/introspect.go), written with
/// Utf8JsonWriter (no reflection). The HTTP listener lives in the daemon executable.
/// </summary>
public static class Introspection
{
    public static IReadOnlyList<string> Paths { get; } = ["/v1/enis", "/v1/eni-configs", "/v1/networkutils-env-settings", "/v1/ipamd-env-settings", "/v1/pool"];

    /// <summary>Returns (status code, JSON body) for a path; unknown paths list the commands, as upstream.</summary>
    public static (int Status, byte[] Body) Handle(string path, IpamdNode node, DaemonSettings settings)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(settings);
        return path.TrimEnd('/') switch
        {
            "/v1/enis" => node.IsReady ? (200, Enis(node)) : (503, Json(w => w.WriteStringValue(node.State))),
            "/v1/eni-configs" => node.EniConfigName is { } eniConfig
                ? (200, Json(w => w.WriteStringValue(eniConfig)))
                : (404, Json(w => w.WriteStringValue(settings.Kubernetes.CustomNetworking
                    ? "the node's ENIConfig is not known yet (node not read from the Kubernetes API)"
                    : "custom networking (ENIConfig) is not configured on this node"))),
            "/v1/networkutils-env-settings" => (200, NetworkSettings(settings)),
            "/v1/ipamd-env-settings" => (200, IpamSettings(settings)),
            "/v1/pool" => (200, Pool(node)),
            _ => (200, Json(w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("AvailableCommands");
                foreach (var p in Paths)
                {
                    w.WriteStringValue(p);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            })),
        };
    }

    private static byte[] Enis(IpamdNode node)
    {
        if (node.Controller.IPv6 is { } v6)
        {
            return IPv6Enis(v6);
        }

        var ds = node.Controller.Datastore;
        var stats = ds.GetStats();

        // One pass over the allocations, then a lookup per address of each CIDR (a /32 or a /28's 16).
        var byAddress = new Dictionary<uint, AllocationRecord>();
        foreach (var allocation in ds.GetAllocations())
        {
            byAddress.TryAdd(allocation.Address.Value, allocation);
        }
        return Json(w =>
        {
            w.WriteStartObject();
            w.WriteStartObject(ds.NetworkCard.ToString(System.Globalization.CultureInfo.InvariantCulture));
            w.WriteNumber("TotalIPs", stats.TotalIPs);
            w.WriteNumber("AssignedIPs", stats.AssignedIPs);
            w.WriteNumber("CooldownIPs", stats.CoolingIPs);
            w.WriteStartObject("ENIs");
            foreach (var eni in ds.GetEniStates())
            {
                w.WriteStartObject(eni.Id);
                w.WriteString("ID", eni.Id);
                w.WriteBoolean("IsPrimary", eni.IsPrimary);
                w.WriteBoolean("IsTrunk", eni.IsTrunk);
                w.WriteBoolean("IsEFA", eni.IsEfa);
                w.WriteNumber("DeviceNumber", eni.DeviceNumber);
                w.WriteStartObject("AvailableIPv4Cidrs");
                foreach (var cidr in ds.GetCidrs(eni.Id))
                {
                    w.WriteStartObject(cidr.ToString());
                    w.WriteStartObject("Cidr");
                    w.WriteString("IP", cidr.BaseAddress.ToString());
                    w.WriteString("Mask", Convert.ToBase64String(MaskBytes(cidr.PrefixLength)));
                    w.WriteEndObject();
                    w.WriteStartObject("IPAddresses");
                    var first = BinaryPrimitives.ReadUInt32BigEndian(cidr.BaseAddress.GetAddressBytes());
                    for (var offset = 0u; offset < 1u << (32 - cidr.PrefixLength); offset++)
                    {
                        if (!byAddress.TryGetValue(first + offset, out var a))
                        {
                            continue;
                        }

                        var address = a.Address.ToIPAddress();
                        w.WriteStartObject(address.ToString());
                        w.WriteString("Address", address.ToString());
                        w.WriteStartObject("IPAMKey");
                        w.WriteString("networkName", a.Key.NetworkName);

                        // Upstream blanks these since v1.23.0.
                        w.WriteString("containerID", "");
                        w.WriteString("ifName", "");
                        w.WriteEndObject();
                        w.WriteStartObject("IPAMMetadata");
                        w.WriteString("k8sPodNamespace", a.Metadata.Namespace ?? "");
                        w.WriteString("k8sPodName", a.Metadata.Name ?? "");
                        w.WriteNumber("interfacesCount", a.Metadata.InterfacesCount);
                        w.WriteEndObject();
                        w.WriteString("AssignedTime", DateTimeOffset.FromUnixTimeMilliseconds(a.AllocatedAtUnixNanoseconds / 1_000_000).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));
                        w.WriteString("UnassignedTime", "0001-01-01T00:00:00Z");
                        w.WriteEndObject();
                    }

                    w.WriteEndObject();
                    w.WriteBoolean("IsPrefix", cidr.PrefixLength < 32);
                    w.WriteString("AddressFamily", "");
                    w.WriteEndObject();
                }

                w.WriteEndObject();
                w.WriteStartObject("IPv6Cidrs");
                w.WriteEndObject();
                w.WriteBoolean("IsExcludedForPodIPs", eni.IsExcluded);
                w.WriteNumber("RouteTableID", EniRouteTable.For(ds.NetworkCard, eni.DeviceNumber));
                w.WriteNumber("Addresses", eni.Addresses);
                w.WriteNumber("Assigned", eni.Assigned);
                w.WriteNumber("Cooling", eni.Cooling);
                w.WriteEndObject();
            }

            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }

    private static byte[] Pool(IpamdNode node) => Json(w =>
    {
        w.WriteStartObject();
        w.WriteString("State", node.State);
        if (node.Instance is { } instance)
        {
            // What the SNAT exemptions and AddNetwork's VPCv4CIDRs use now (followed every 30 s).
            w.WriteStartArray("VpcCidrs");
            foreach (var cidr in instance.VpcCidrs)
            {
                w.WriteStringValue(cidr.ToString());
            }

            w.WriteEndArray();
        }

        if (node.IsReady && node.Controller.IPv6 is { } v6)
        {
            // IPv6 mode: no pool; the prefix and what pods hold of it.
            w.WriteStartObject("IPv6");
            w.WriteStartArray("Prefixes");
            foreach (var prefix in v6.Prefixes)
            {
                w.WriteStringValue(prefix.ToString());
            }

            w.WriteEndArray();
            w.WriteStartArray("VpcCidrs");
            foreach (var cidr in node.Controller.IPv6VpcCidrs)
            {
                w.WriteStringValue(cidr.ToString());
            }

            w.WriteEndArray();
            w.WriteNumber("AssignedIPs", v6.AssignedCount);
            w.WriteNumber("CoolingIPs", v6.CoolingCount);
            w.WriteEndObject();
        }
        else if (node.IsReady)
        {
            var stats = node.Controller.Datastore.GetStats();
            w.WriteNumber("Enis", node.Controller.Datastore.EniCount);
            w.WriteNumber("TotalIPs", stats.TotalIPs);
            w.WriteNumber("AssignedIPs", stats.AssignedIPs);
            w.WriteNumber("CoolingIPs", stats.CoolingIPs);
            w.WriteNumber("TotalPrefixes", stats.TotalPrefixes);
            w.WriteNumber("WaitingAssignments", node.Controller.WaitingAssignments);
            w.WriteString("Blocked", node.Controller.LastDecision.Blocked.ToString());
            var fallback = node.Controller.PrefixFallback;
            w.WriteStartObject("PrefixFallback");
            w.WriteNumber("EnisInFallback", fallback.EnisInFallback);
            w.WriteNumber("Fallbacks", fallback.Fallbacks);
            w.WriteNumber("Returns", fallback.Returns);
            w.WriteEndObject();
            w.WriteStartArray("Subnets");
            foreach (var subnet in node.Metrics.SubnetPrefixCapacity())
            {
                w.WriteStartObject();
                w.WriteString("SubnetId", subnet.SubnetId);
                if (subnet.FreePrefixBlocks is { } blocks)
                {
                    w.WriteNumber("FreePrefixBlocks", blocks);
                }
                else
                {
                    // EC2 does not report it.
                    w.WriteNull("FreePrefixBlocks");
                }

                w.WriteBoolean("RecentlyRefusedPrefix", subnet.RecentlyRefused);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
    });

    // Upstream's shape: null when empty, else the CIDR strings.
    private static void WriteCidrs(System.Text.Json.Utf8JsonWriter w, string name, IReadOnlyList<System.Net.IPNetwork> cidrs)
    {
        w.WritePropertyName(name);
        if (cidrs.Count == 0)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartArray();
        foreach (var c in cidrs)
        {
            w.WriteStringValue(c.ToString());
        }

        w.WriteEndArray();
    }

    private static byte[] NetworkSettings(DaemonSettings s) => Json(w =>
    {
        w.WriteStartObject();
        w.WriteNumber("AWS_VPC_K8S_CNI_CONNMARK", s.ConnectionMark);
        WriteCidrs(w, "AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS", s.ExcludeSnatCidrs);

        w.WriteBoolean("AWS_VPC_K8S_CNI_EXTERNALSNAT", s.ExternalSnat);
        WriteCidrs(w, "AWS_EXTERNAL_SERVICE_CIDRS", s.ExternalServiceCidrs);
        w.WriteNumber("AWS_VPC_ENI_MTU", s.EniMtu);
        w.WriteString("AWS_VPC_K8S_CNI_VETHPREFIX", s.VethPrefix);
        w.WriteBoolean("AWS_VPC_CNI_NODE_PORT_SUPPORT", s.NodePortSupport);
        w.WriteNumber("AWS_VPC_K8S_CNI_RANDOMIZESNAT", s.SnatRandomization switch
        {
            Linux.Snat.SnatRandomization.None => 0,
            Linux.Snat.SnatRandomization.Random => 1,
            _ => 2,
        });
        w.WriteEndObject();
    });

    private static byte[] IpamSettings(DaemonSettings s) => Json(w =>
    {
        w.WriteStartObject();
        w.WriteNumber("WARM_IP_TARGET", s.Ipam.WarmIpTarget);
        w.WriteNumber("WARM_ENI_TARGET", s.Ipam.WarmEniTarget);
        w.WriteNumber("MINIMUM_IP_TARGET", s.Ipam.MinimumIpTarget);
        w.WriteNumber("WARM_PREFIX_TARGET", s.Ipam.WarmPrefixTarget);
        w.WriteBoolean("ENABLE_PREFIX_DELEGATION", s.Ipam.EnablePrefixDelegation);
        w.WriteBoolean("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", s.Ipam.UseCustomNetworking);
        w.WriteBoolean("AWS_MANAGE_ENIS_NON_SCHEDULABLE", false);
        w.WriteBoolean("ENABLE_SUBNET_DISCOVERY", true);
        w.WriteString("VPC_CNI_POOL_POLICY", s.Ipam.PoolPolicy.ToString());
        w.WriteEndObject();
    });

    /// <summary>
    /// IPv6 mode: upstream's shape with the primary ENI's /80 under <c>IPv6Cidrs</c> and its pods' /128s (the IPv4
    /// datastore is empty).
    /// </summary>
    private static byte[] IPv6Enis(IPv6AddressStore store) => Json(w =>
    {
        var allocations = store.Allocations;
        var cooling = store.CoolingCount;
        var capacity = store.Capacity;
        w.WriteStartObject();
        w.WriteStartObject("0");
        w.WriteNumber("TotalIPs", capacity > long.MaxValue ? long.MaxValue : (long)capacity);
        w.WriteNumber("AssignedIPs", allocations.Count);
        w.WriteNumber("CooldownIPs", cooling);
        w.WriteStartObject("ENIs");
        foreach (var prefix in store.Prefixes)
        {
            var onPrefix = allocations.Where(a => prefix.Contains(a.Address)).ToList();
            var eniId = onPrefix.FirstOrDefault()?.EniId ?? store.EniOf(prefix) ?? "";
            w.WriteStartObject(eniId);
            w.WriteString("ID", eniId);
            w.WriteBoolean("IsPrimary", true);
            w.WriteBoolean("IsTrunk", false);
            w.WriteBoolean("IsEFA", false);
            w.WriteNumber("DeviceNumber", 0);
            w.WriteStartObject("AvailableIPv4Cidrs");
            w.WriteEndObject();
            w.WriteStartObject("IPv6Cidrs");
            w.WriteStartObject(prefix.ToString());
            w.WriteStartObject("Cidr");
            w.WriteString("IP", prefix.BaseAddress.ToString());
            w.WriteString("Mask", Convert.ToBase64String(MaskBytes6(prefix.PrefixLength)));
            w.WriteEndObject();
            w.WriteStartObject("IPAddresses");
            foreach (var a in onPrefix)
            {
                var address = a.Address.ToString();
                w.WriteStartObject(address);
                w.WriteString("Address", address);
                w.WriteStartObject("IPAMKey");
                w.WriteString("networkName", a.Key.NetworkName);
                w.WriteString("containerID", "");
                w.WriteString("ifName", "");
                w.WriteEndObject();
                w.WriteStartObject("IPAMMetadata");
                w.WriteString("k8sPodNamespace", a.Metadata.Namespace ?? "");
                w.WriteString("k8sPodName", a.Metadata.Name ?? "");
                w.WriteNumber("interfacesCount", a.Metadata.InterfacesCount);
                w.WriteEndObject();
                w.WriteString("AssignedTime", DateTimeOffset.FromUnixTimeMilliseconds(a.AllocatedAtUnixNanoseconds / 1_000_000).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));
                w.WriteString("UnassignedTime", "0001-01-01T00:00:00Z");
                w.WriteEndObject();
            }

            w.WriteEndObject();
            w.WriteBoolean("IsPrefix", true);
            w.WriteString("AddressFamily", "6");
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteBoolean("IsExcludedForPodIPs", false);
            w.WriteNumber("RouteTableID", 254);
            w.WriteNumber("Assigned", onPrefix.Count);
            w.WriteEndObject();
        }

        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
    });

    private static byte[] MaskBytes6(int prefixLength)
    {
        var mask = new byte[16];
        for (var i = 0; i < prefixLength; i++)
        {
            mask[i / 8] |= (byte)(0x80 >> (i % 8));
        }

        return mask;
    }

    private static byte[] MaskBytes(int prefixLength)
    {
        var mask = prefixLength == 0 ? 0u : uint.MaxValue << (32 - prefixLength);
        return [(byte)(mask >> 24), (byte)(mask >> 16), (byte)(mask >> 8), (byte)mask];
    }

    private static byte[] Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }
}
