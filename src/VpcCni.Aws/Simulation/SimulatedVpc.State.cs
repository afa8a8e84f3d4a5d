using System.Net;
using System.Net.Sockets;

namespace VpcCni.Aws.Simulation;

public sealed partial class SimulatedVpc
{
    private sealed class VpcState(string id, IPNetwork cidr, IPNetwork? ipv6Cidr)
    {
        public string Id { get; } = id;
        public List<IPNetwork> Cidrs { get; } = [cidr];

        /// <summary>The /56 (null when the pool is exhausted).</summary>
        public IPNetwork? Ipv6Cidr { get; } = ipv6Cidr;

        /// <summary>/64s handed to subnets so far.</summary>
        public int Ipv6SubnetsCut { get; set; }
    }

    private sealed class SubnetState
    {
        public SubnetState(string id, string vpcId, string az, IPNetwork cidr, IReadOnlyDictionary<string, string> tags)
        {
            Id = id;
            VpcId = vpcId;
            AvailabilityZone = az;
            Cidr = cidr;
            Tags = new Dictionary<string, string>(tags, StringComparer.Ordinal);
            Used = new bool[1 << (32 - cidr.PrefixLength)];

            // AWS reserves the network address, the next three (router, DNS, future) and the broadcast address.
            for (var i = 0; i < Math.Min(4, Used.Length); i++)
            {
                Used[i] = true;
            }

            Used[^1] = true;
            Free = Used.Count(u => !u);
            Base = ToUInt(cidr.BaseAddress);
        }

        public string Id { get; }
        public string VpcId { get; }
        public string AvailabilityZone { get; }
        public IPNetwork Cidr { get; }
        public Dictionary<string, string> Tags { get; }
        public bool[] Used { get; }
        public int Free { get; set; }
        public uint Base { get; }

        public IPAddress AddressAt(int offset) => FromUInt(Base + (uint)offset);

        public int OffsetOf(IPAddress address) => (int)(ToUInt(address) - Base);

        public bool Contains(IPAddress address) => address.AddressFamily == AddressFamily.InterNetwork && Cidr.Contains(address);

        /// <summary>The subnet's IPv6 /64; /80 number 0 of it holds the ENIs' own IPv6 addresses, prefixes come from 1 up.</summary>
        public IPNetwork? Ipv6Cidr { get; init; }

        /// <summary>/80 numbers (0–65535) within the /64 delegated to ENIs.</summary>
        public HashSet<int> UsedIpv6Prefixes { get; } = [0];

        /// <summary>Host numbers within /80 number 0 given to ENIs as their own IPv6 address.</summary>
        public int Ipv6AddressesGiven { get; set; }
    }

    private sealed class AttachmentState
    {
        public required string Id { get; init; }
        public required InstanceState Instance { get; init; }
        public required int DeviceIndex { get; init; }
        public required int NetworkCardIndex { get; init; }
        public required DateTimeOffset AttachTime { get; init; }
        public string Status { get; set; } = "attaching";
        public bool DeleteOnTermination { get; set; }
        public ITimer? Timer { get; set; }
    }

    /// <summary>An address or prefix with the times IMDS should start and stop showing it (each fixed with the IMDS lag
    /// current when EC2 made the change, so a lag changed at run time applies to later changes only).</summary>
    private sealed class AddressRecord(IPNetwork cidr, DateTimeOffset assignedAt, TimeSpan imdsLag)
    {
        public IPNetwork Cidr { get; } = cidr;
        public DateTimeOffset AssignedAt { get; } = assignedAt;
        public DateTimeOffset ImdsVisibleFrom { get; } = assignedAt + imdsLag;
        public DateTimeOffset? RemovedAt { get; private set; }
        public DateTimeOffset? ImdsHiddenFrom { get; private set; }

        public void Remove(DateTimeOffset now, TimeSpan imdsLag)
        {
            RemovedAt = now;
            ImdsHiddenFrom = now + imdsLag;
        }

        public bool IsPrefix => Cidr.PrefixLength != 32;
    }

    private sealed class EniState
    {
        public required string Id { get; init; }
        public required SubnetState Subnet { get; init; }
        public required string Mac { get; init; }
        public required string Description { get; init; }
        public required IPAddress Primary { get; init; }
        public required DateTimeOffset CreatedAt { get; init; }
        public string InterfaceType { get; init; } = "interface";
        public List<string> Groups { get; set; } = [];
        public Dictionary<string, string> Tags { get; } = new(StringComparer.Ordinal);
        public List<AddressRecord> Addresses { get; } = [];

        /// <summary>Delegated IPv6 /80 prefixes (kept apart: they take no IPv4 slot).</summary>
        public List<AddressRecord> Ipv6Prefixes { get; } = [];

        /// <summary>The ENI's own IPv6 address (subnet attribute AssignIpv6AddressOnCreation).</summary>
        public IPAddress? PrimaryIPv6 { get; init; }

        public IEnumerable<AddressRecord> LiveIpv6Prefixes => Ipv6Prefixes.Where(a => a.RemovedAt is null);
        public AttachmentState? Attachment { get; set; }
        public bool Deleted { get; set; }

        /// <summary>When IMDS of the attached instance starts showing this ENI.</summary>
        public DateTimeOffset? ImdsVisibleFrom { get; set; }

        /// <summary>When IMDS stops showing it (detach + lag).</summary>
        public DateTimeOffset? ImdsHiddenFrom { get; set; }

        public IEnumerable<AddressRecord> Live => Addresses.Where(a => a.RemovedAt is null);

        /// <summary>EC2 counts the primary, each secondary /32 and each /28 prefix as one slot.</summary>
        public int UsedSlots => 1 + Live.Count();
    }

    private sealed class InstanceState
    {
        public required string Id { get; init; }
        public required string InstanceType { get; init; }
        public required VpcCni.Cloud.InstanceLimits Limits { get; init; }
        public required SubnetState Subnet { get; init; }
        public required List<string> Groups { get; init; }
        public EniState Primary { get; set; } = null!;
        public List<EniState> ImdsEnis { get; } = [];
        public string State { get; set; } = "running";
        public IEnumerable<EniState> AttachedEnis(IEnumerable<EniState> all) =>
            all.Where(e => e.Attachment?.Instance == this);
    }

    /// <summary>The <paramref name="index"/>-th network of length <paramref name="length"/> inside <paramref name="outer"/>.</summary>
    internal static IPNetwork Ipv6Subnet(IPNetwork outer, int length, int index)
    {
        var value = ToUInt128(outer.BaseAddress) | ((UInt128)(uint)index << (128 - length));
        return new IPNetwork(FromUInt128(value), length);
    }

    internal static UInt128 ToUInt128(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    internal static IPAddress FromUInt128(UInt128 value)
    {
        var bytes = new byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(bytes, value);
        return new IPAddress(bytes);
    }

    internal static uint ToUInt(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        return (uint)(bytes[0] << 24 | bytes[1] << 16 | bytes[2] << 8 | bytes[3]);
    }

    internal static IPAddress FromUInt(uint value) =>
        new([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);
}
