using System.Text;
using VpcCni.Cni;

namespace VpcCni.Tests.Cni;

public sealed class VpcCniPluginConfigTests
{
    private static VpcCniPluginConfig From(string extra) =>
        VpcCniPluginConfig.From(NetworkConfig.Parse(Encoding.UTF8.GetBytes($$"""{"cniVersion":"0.4.0","name":"aws-cni","type":"aws-cni"{{extra}}}""")));

    [Fact]
    public void From_NoFields_UpstreamDefaults()
    {
        var config = From("");
        config.VethPrefix.Should().Be("eni");
        config.Mtu.Should().Be(9001);
        config.PodSGEnforcingMode.Should().Be(PodSecurityGroupEnforcingMode.Strict);
        config.PluginLogFile.Should().BeNull();
    }

    [Fact]
    public void From_AllFields_Read()
    {
        var config = From("""
            ,"vethPrefix":"abcd","mtu":"1500","podSGEnforcingMode":"standard","pluginLogFile":"/var/log/p.log","pluginLogLevel":"DEBUG",
            "runtimeConfig":{"io.kubernetes.cri.pod-annotations":{"k8s.amazonaws.com/nicConfig":"multi-nic-attachment"}}
            """);
        config.Should().BeEquivalentTo(new VpcCniPluginConfig
        {
            VethPrefix = "abcd", Mtu = 1500, PodSGEnforcingMode = PodSecurityGroupEnforcingMode.Standard,
            PluginLogFile = "/var/log/p.log", PluginLogLevel = "DEBUG",
            PodAnnotations = new Dictionary<string, string> { ["k8s.amazonaws.com/nicConfig"] = "multi-nic-attachment" },
        });
    }

    [Fact]
    public void From_NumericMtu_Accepted()
    {
        From(""","mtu":9000""").Mtu.Should().Be(9000);
    }

    [Theory]
    [InlineData(""","vethPrefix":"abcde" """, "vethPrefix")]
    [InlineData(""","vethPrefix":"" """, "vethPrefix")]
    [InlineData(""","vethPrefix":"a-b" """, "vethPrefix")]
    [InlineData(""","mtu":"575" """, "mtu")]
    [InlineData(""","mtu":"9002" """, "mtu")]
    [InlineData(""","mtu":"abc" """, "mtu")]
    [InlineData(""","mtu":true""", "mtu")]
    [InlineData(""","podSGEnforcingMode":"loose" """, "podSGEnforcingMode")]
    [InlineData(""","pluginLogFile":"stdout" """, "pluginLogFile")]
    [InlineData(""","runtimeConfig":{"io.kubernetes.cri.pod-annotations":["x"]}""", "pod-annotations")]
    public void From_InvalidField_Code7NamingField(string extra, string field)
    {
        var act = () => From(extra);
        var ex = act.Should().Throw<CniException>().Which;
        ex.Code.Should().Be(CniErrorCode.InvalidNetworkConfig);
        ex.Message.Should().Contain(field);
    }

    [Fact]
    public void KubernetesPodArgs_From_ReadsPodIdentity()
    {
        var args = KubernetesPodArgs.From(CniArgs.Parse("K8S_POD_NAME=web-2;K8S_POD_INFRA_CONTAINER_ID=054c;K8S_POD_UID=16ac;IgnoreUnknown=1;K8S_POD_NAMESPACE=kube-system;EXTRA=1"));
        args.Should().Be(new KubernetesPodArgs("web-2", "kube-system", "054c", "16ac"));
    }

    [Fact]
    public void KubernetesPodArgs_UnknownKeyWithoutIgnore_Code4()
    {
        var act = () => KubernetesPodArgs.From(CniArgs.Parse("K8S_POD_NAME=a;EXTRA=1"));
        act.Should().Throw<CniException>().Which.Code.Should().Be(CniErrorCode.InvalidEnvironmentVariables);
    }
}
