using VpcCni.Cni;

namespace VpcCni.Tests.Cni;

public sealed class CniEnvironmentTests
{
    private static Dictionary<string, string?> Env(params (string Key, string? Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => p.Value);

    private static Dictionary<string, string?> FullAdd(string command = "ADD") => Env(
        ("CNI_COMMAND", command), ("CNI_CONTAINERID", "abc123"), ("CNI_NETNS", "/run/netns/x"),
        ("CNI_IFNAME", "eth0"), ("CNI_PATH", "/opt/cni/bin:/usr/lib/cni"), ("CNI_ARGS", "K8S_POD_NAME=p;IgnoreUnknown=1"));

    private static CniException Fails(Dictionary<string, string?> env)
    {
        var act = () => CniEnvironment.Parse(env);
        return act.Should().Throw<CniException>().Which;
    }

    [Fact]
    public void Parse_FullAdd_ReadsEveryVariable()
    {
        var env = CniEnvironment.Parse(FullAdd());

        env.Command.Should().Be(CniCommand.Add);
        env.ContainerId.Should().Be("abc123");
        env.NetNs.Should().Be("/run/netns/x");
        env.IfName.Should().Be("eth0");
        env.Path.Should().Equal("/opt/cni/bin", "/usr/lib/cni");
        env.Args.Get("K8S_POD_NAME").Should().Be("p");
        env.Args.IgnoreUnknown.Should().BeTrue();
    }

    [Theory]
    [InlineData("ADD", CniCommand.Add)]
    [InlineData("DEL", CniCommand.Del)]
    [InlineData("CHECK", CniCommand.Check)]
    [InlineData("VERSION", CniCommand.Version)]
    [InlineData("STATUS", CniCommand.Status)]
    [InlineData("GC", CniCommand.Gc)]
    public void Parse_EachCommand_IsRecognised(string text, CniCommand expected)
    {
        CniEnvironment.Parse(FullAdd(text)).Command.Should().Be(expected);
    }

    [Fact]
    public void Parse_NoCommand_Code4NamingCniCommand()
    {
        var ex = Fails(Env());
        ex.Code.Should().Be(CniErrorCode.InvalidEnvironmentVariables);
        ex.Message.Should().Be("required env variables [CNI_COMMAND] missing");
    }

    [Theory]
    [InlineData("FOO")]
    [InlineData("add")]
    [InlineData(" ADD")]
    public void Parse_UnknownCommand_Code4(string command)
    {
        var ex = Fails(Env(("CNI_COMMAND", command)));
        ex.Code.Should().Be(CniErrorCode.InvalidEnvironmentVariables);
        ex.Message.Should().Be($"unknown CNI_COMMAND: {command}");
    }

    [Fact]
    public void Parse_AddMissingEverything_NamesEachMissingVariableInOrder()
    {
        var ex = Fails(Env(("CNI_COMMAND", "ADD")));
        ex.Code.Should().Be(CniErrorCode.InvalidEnvironmentVariables);
        ex.Message.Should().Be("required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME] missing");
    }

    [Theory]
    [InlineData("ADD", "CNI_CONTAINERID")]
    [InlineData("ADD", "CNI_NETNS")]
    [InlineData("ADD", "CNI_IFNAME")]
    [InlineData("CHECK", "CNI_CONTAINERID")]
    [InlineData("CHECK", "CNI_NETNS")]
    [InlineData("CHECK", "CNI_IFNAME")]
    [InlineData("DEL", "CNI_CONTAINERID")]
    [InlineData("DEL", "CNI_IFNAME")]
    public void Parse_RequiredVariableEmpty_Code4NamingIt(string command, string variable)
    {
        var env = FullAdd(command);
        env[variable] = "";
        var ex = Fails(env);
        ex.Code.Should().Be(CniErrorCode.InvalidEnvironmentVariables);
        ex.Message.Should().Be($"required env variables [{variable}] missing");
    }

    [Fact]
    public void Parse_DelWithoutNetns_Succeeds()
    {
        var env = FullAdd("DEL");
        env.Remove("CNI_NETNS");
        CniEnvironment.Parse(env).NetNs.Should().BeEmpty();
    }

    [Fact]
    public void Parse_VersionWithOnlyCommand_Succeeds()
    {
        CniEnvironment.Parse(Env(("CNI_COMMAND", "VERSION"))).Command.Should().Be(CniCommand.Version);
    }

    [Fact]
    public void Parse_StatusWithOnlyCommand_Succeeds()
    {
        CniEnvironment.Parse(Env(("CNI_COMMAND", "STATUS"))).Command.Should().Be(CniCommand.Status);
    }

    [Fact]
    public void Parse_GcWithEmptyContainerVariables_SucceedsAndIgnoresThem()
    {
        var env = CniEnvironment.Parse(Env(("CNI_COMMAND", "GC"), ("CNI_PATH", "/opt/cni/bin"), ("CNI_CONTAINERID", ""), ("CNI_IFNAME", ""), ("CNI_NETNS", "")));
        env.Command.Should().Be(CniCommand.Gc);
        env.ContainerId.Should().BeEmpty();
    }

    [Fact]
    public void Parse_GcWithoutPath_Code4NamingCniPath()
    {
        Fails(Env(("CNI_COMMAND", "GC"))).Message.Should().Be("required env variables [CNI_PATH] missing");
    }

    [Theory]
    [InlineData("-abc")]
    [InlineData("_abc")]
    [InlineData(".abc")]
    [InlineData("ab c")]
    [InlineData("ab/c")]
    [InlineData("ab:c")]
    [InlineData("ab$c")]
    [InlineData("äbc")]
    public void Parse_InvalidContainerId_Code4WithIdInDetails(string id)
    {
        var env = FullAdd();
        env["CNI_CONTAINERID"] = id;
        var ex = Fails(env);
        ex.Code.Should().Be(CniErrorCode.InvalidEnvironmentVariables);
        ex.Message.Should().Contain("invalid characters in containerID");
        ex.Details.Should().Be(id);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("0")]
    [InlineData("a1_b.c-d")]
    [InlineData("054c3b5d8a9e4f2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b")]
    public void Parse_ValidContainerId_Accepted(string id)
    {
        var env = FullAdd();
        env["CNI_CONTAINERID"] = id;
        CniEnvironment.Parse(env).ContainerId.Should().Be(id);
    }

    [Theory]
    [InlineData("0123456789abcdef", "too long")]
    [InlineData(".", ". or ..")]
    [InlineData("..", ". or ..")]
    [InlineData("eth/0", "invalid character '/'")]
    [InlineData("eth:0", "invalid character ':'")]
    [InlineData("eth 0", "invalid character ' '")]
    [InlineData("eth\t0", "invalid character")]
    [InlineData("ééééééééé", "too long")]
    public void Parse_InvalidIfName_Code4NamingCniIfname(string ifName, string problem)
    {
        var env = FullAdd();
        env["CNI_IFNAME"] = ifName;
        var ex = Fails(env);
        ex.Code.Should().Be(CniErrorCode.InvalidEnvironmentVariables);
        ex.Message.Should().StartWith("invalid CNI_IFNAME").And.Contain(problem);
    }

    [Theory]
    [InlineData("eth0")]
    [InlineData("0123456789abcde")]
    [InlineData("dummy")]
    public void Parse_ValidIfName_Accepted(string ifName)
    {
        var env = FullAdd();
        env["CNI_IFNAME"] = ifName;
        CniEnvironment.Parse(env).IfName.Should().Be(ifName);
    }

    [Fact]
    public void Parse_MalformedArgs_Code4NamingCniArgs()
    {
        var env = FullAdd();
        env["CNI_ARGS"] = "K8S_POD_NAME";
        var ex = Fails(env);
        ex.Code.Should().Be(CniErrorCode.InvalidEnvironmentVariables);
        ex.Message.Should().Contain("CNI_ARGS");
    }

    [Fact]
    public void Parse_PathWithEmptySegments_SkipsThem()
    {
        var env = FullAdd();
        env["CNI_PATH"] = ":/a::/b:";
        CniEnvironment.Parse(env).Path.Should().Equal("/a", "/b");
    }
}
