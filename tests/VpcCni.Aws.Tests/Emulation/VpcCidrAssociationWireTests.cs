using System.Net;
using Amazon.EC2;
using Amazon.EC2.Model;
using VpcCni.Aws.Simulation;
using VpcCni.Cloud;

namespace VpcCni.Aws.Tests.Emulation;

/// <summary>
/// A CIDR block associated with the VPC at run time (EC2's AssociateVpcCidrBlock on the emulator's query API): IMDS
/// lists it under the primary MAC's <c>vpc-ipv4-cidr-blocks</c> at once, and the providers' <see cref="IVpcCidrSource"/>
/// reads it afresh while their instance identity keeps the list of node start.
/// </summary>
public sealed class VpcCidrAssociationWireTests
{
    private static readonly IPNetwork Primary = IPNetwork.Parse("10.0.0.0/16");
    private static readonly IPNetwork Secondary = IPNetwork.Parse("100.64.0.0/16");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AssociateVpcCidrBlock_OverTheSdk_NewBlockInImdsAndInTheProvidersFreshRead()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();
        using var imds = cloud.CreateImds();
        using var provider = cloud.CreateProvider(ec2);
        var vpcId = cloud.Cluster.VpcInfo.VpcId;
        var mac = await imds.GetPrimaryMacAsync(Ct);
        var identity = await provider.GetInstanceAsync(Ct);
        (await ((IVpcCidrSource)provider).GetVpcIPv4CidrsAsync(Ct)).Should().Equal(Primary);

        var reply = await ec2.AssociateVpcCidrBlockAsync(new AssociateVpcCidrBlockRequest { VpcId = vpcId, CidrBlock = Secondary.ToString() }, Ct);

        reply.VpcId.Should().Be(vpcId);
        reply.CidrBlockAssociation.CidrBlock.Should().Be("100.64.0.0/16");
        reply.CidrBlockAssociation.AssociationId.Should().StartWith("vpc-cidr-assoc-");
        reply.CidrBlockAssociation.CidrBlockState.State.Value.Should().Be("associated");
        (await imds.GetVpcIPv4CidrsAsync(mac, Ct)).Should().Equal(Primary, Secondary);
        (await ((IVpcCidrSource)provider).GetVpcIPv4CidrsAsync(Ct)).Should().Equal(Primary, Secondary);
        (await provider.GetInstanceAsync(Ct)).Should().BeSameAs(identity, "the identity is read once; the source is read afresh");
        cloud.Vpc.DescribeVpc(vpcId).Cidrs.Should().Equal(Primary, Secondary);
        (await new SimulatedEniProvider(cloud.Vpc, cloud.Cluster.Nodes[0].InstanceId).GetVpcIPv4CidrsAsync(Ct)).Should().Equal(Primary, Secondary);
    }

    [Theory]
    [InlineData("10.0.128.0/17", "InvalidVpc.Range")]
    [InlineData("100.64.0.0/12", "InvalidVpc.Range")]
    [InlineData("not-a-cidr", "InvalidParameterValue")]
    [InlineData("fd00::/56", "InvalidParameterValue")]
    public async Task AssociateVpcCidrBlock_BadBlock_RefusedWithEc2sCodeAndNothingAdded(string block, string code)
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();
        var vpcId = cloud.Cluster.VpcInfo.VpcId;

        var act = async () => await ec2.AssociateVpcCidrBlockAsync(new AssociateVpcCidrBlockRequest { VpcId = vpcId, CidrBlock = block }, Ct);

        (await act.Should().ThrowAsync<AmazonEC2Exception>()).Which.ErrorCode.Should().Be(code);
        cloud.Vpc.DescribeVpc(vpcId).Cidrs.Should().Equal(Primary);
    }

    [Fact]
    public async Task AssociateVpcCidrBlock_UnknownVpcOrNoBlock_Refused()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();

        var unknown = async () => await ec2.AssociateVpcCidrBlockAsync(new AssociateVpcCidrBlockRequest { VpcId = "vpc-0000000000000dead", CidrBlock = "100.64.0.0/16" }, Ct);
        var missing = async () => await ec2.AssociateVpcCidrBlockAsync(new AssociateVpcCidrBlockRequest { VpcId = cloud.Cluster.VpcInfo.VpcId }, Ct);

        (await unknown.Should().ThrowAsync<AmazonEC2Exception>()).Which.ErrorCode.Should().Be("InvalidVpcID.NotFound");
        (await missing.Should().ThrowAsync<AmazonEC2Exception>()).Which.ErrorCode.Should().Be("MissingParameter");
    }
}
