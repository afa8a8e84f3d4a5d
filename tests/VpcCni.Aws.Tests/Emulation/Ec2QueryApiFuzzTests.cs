using System.Xml.Linq;
using CsCheck;
using VpcCni.Aws.Emulation;
using VpcCni.Aws.Simulation;

namespace VpcCni.Aws.Tests.Emulation;

/// <summary>
/// Seeded, bounded fuzzing of the emulator's EC2 Query API: any form gets an XML document with a 2xx/4xx status (no
/// fault is injected and request limits are off, so 5xx would be a bug), and HandleAsync never throws.
/// </summary>
public sealed class Ec2QueryApiFuzzTests
{
    private static readonly string Seed = new PCG(3, 20261103).ToString();

    private static readonly string[] Actions =
    [
        "CreateNetworkInterface", "AttachNetworkInterface", "DetachNetworkInterface", "DeleteNetworkInterface",
        "ModifyNetworkInterfaceAttribute", "AssignPrivateIpAddresses", "UnassignPrivateIpAddresses",
        "DescribeNetworkInterfaces", "DescribeInstances", "DescribeSubnets", "DescribeInstanceTypes", "CreateTags", "Bogus", "",
    ];

    private static readonly string[] Keys =
    [
        "SubnetId", "Description", "SecurityGroupId.1", "SecondaryPrivateIpAddressCount", "Ipv4PrefixCount", "NetworkInterfaceId",
        "NetworkInterfaceId.1", "InstanceId", "InstanceId.1", "DeviceIndex", "NetworkCardIndex", "AttachmentId", "Force",
        "Attachment.AttachmentId", "Attachment.DeleteOnTermination", "Description.Value", "PrivateIpAddress.1", "Ipv4Prefix.1",
        "Ipv4Prefixes.1", "AllowReassignment", "ResourceId.1", "Tag.1.Key", "Tag.1.Value", "TagSpecification.1.ResourceType",
        "TagSpecification.1.Tag.1.Key", "TagSpecification.1.Tag.1.Value", "Filter.1.Name", "Filter.1.Value.1", "MaxResults",
        "NextToken", "InstanceType.1", "Tag.0.Key", "Filter.x.Name", "SecurityGroupId.99999",
    ];

    [Fact]
    public async Task HandleAsync_RandomForms_AlwaysAnXmlDocumentWithout5xx()
    {
        var cluster = SimulatedCluster.Create("m5.large", options: new SimulatedVpcOptions { EnforceRequestLimits = false });
        var api = new Ec2QueryApi(cluster.Vpc);
        var eni = (await api.HandleAsync(new Dictionary<string, string> { ["Action"] = "CreateNetworkInterface", ["SubnetId"] = cluster.Subnet.SubnetId }, TestContext.Current.CancellationToken)).Body;
        var eniId = XDocument.Parse(eni).Descendants().First(e => e.Name.LocalName == "networkInterfaceId").Value;
        var values = Gen.OneOf(
            Gen.OneOf(cluster.Subnet.SubnetId, cluster.Nodes[0].InstanceId, eniId, cluster.SecurityGroupId, "eni-00000000", "10.0.0.9", "10.0.0.0/28",
                "true", "false", "network-interface", "subnet-id", "m5.large", "1", "0", "-1", "2147483648", "15", ""),
            Gen.Int[-3, 40].Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            Gen.String[Gen.Char, 0, 12],
            Gen.String[Gen.Char['\0', '\u001f'], 1, 4]);
        var form = Gen.Select(Gen.OneOf(Actions), Gen.Select(Gen.OneOf(Keys), values).Array[0, 6], (action, pairs) =>
        {
            var dictionary = new Dictionary<string, string>(StringComparer.Ordinal) { ["Action"] = action };
            foreach (var (key, value) in pairs)
            {
                dictionary[key] = value;
            }

            return dictionary;
        });

        form.Sample(f =>
        {
            var response = api.HandleAsync(f, CancellationToken.None).AsTask().GetAwaiter().GetResult();

            response.Status.Should().BeInRange(200, 499, response.Body);
            var act = () => XDocument.Parse(response.Body);
            act.Should().NotThrow(response.Body);
        }, seed: Check.Seed ?? Seed, iter: 3000, threads: 1, print: f => string.Join('&', f.Select(kv => $"{kv.Key}={Uri.EscapeDataString(kv.Value)}")));
    }

    [Fact]
    public void ParseForm_RandomBodies_NeverThrows()
    {
        Gen.String[Gen.Char, 0, 80].Sample(body =>
        {
            var act = () => Ec2QueryApi.ParseForm(body);
            act.Should().NotThrow();
        }, seed: Check.Seed ?? Seed, iter: 2000);
    }
}
