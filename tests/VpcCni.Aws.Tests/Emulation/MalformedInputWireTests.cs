using System.Net;
using System.Text;
using Amazon.EC2;
using Amazon.EC2.Model;
using VpcCni.Cloud;

namespace VpcCni.Aws.Tests.Emulation;

/// <summary>Malformed input is the client's fault: a 400 EC2 error document, never a 500 that SDKs would retry.</summary>
public sealed class MalformedInputWireTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("Action=DeleteNetworkInterface&NetworkInterfaceId=eni-0%00bad")]
    [InlineData("Action=DescribeNetworkInterfaces&NetworkInterfaceId.1=eni-%01x")]
    [InlineData("Action=CreateTags&ResourceId.1=eni-1&Tag.1.Key=a%0Bb&Tag.1.Value=v")]
    [InlineData("Action=Delete%00NetworkInterface")]
    public async Task Post_ControlCharacterInParameter_400InvalidParameterValue(string body)
    {
        await using var cloud = await EmulatedCloud.StartAsync();

        using var response = await cloud.Http.PostAsync(cloud.Endpoint,
            new StringContent(body, Encoding.UTF8, "application/x-www-form-urlencoded"), Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest, text);
        text.Should().Contain("<Code>InvalidParameterValue</Code>");
    }

    [Fact]
    public async Task SdkClient_NulInEniId_FailsOnceWithoutRetries()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();
        using var provider = cloud.CreateProvider(ec2);
        cloud.Vpc.Requests.ResetCounts();

        var act = async () => await provider.DetachAndDeleteEniAsync("eni-0\0", Ct);

        var error = (await act.Should().ThrowAsync<CloudException>()).Which;
        error.ErrorCode.Should().Be("InvalidParameterValue");
        error.Kind.Should().Be(CloudErrorKind.Other);
        cloud.Server.RequestCount.Should().Be(1, "a 400 is not retried");
    }

    [Fact]
    public async Task SdkClient_ErrorMessageEchoingBadText_StillAnXmlErrorDocument()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var ec2 = cloud.CreateEc2Client();

        var act = async () => await ec2.DescribeNetworkInterfacesAsync(new DescribeNetworkInterfacesRequest { NetworkInterfaceIds = ["eni-\uFFFE"] }, Ct);

        (await act.Should().ThrowAsync<AmazonEC2Exception>()).Which.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }
}
