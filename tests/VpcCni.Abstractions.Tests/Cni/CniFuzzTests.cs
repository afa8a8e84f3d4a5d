using System.Text;
using VpcCni.Cni;

namespace VpcCni.Tests.Cni;

/// <summary>Any bytes on stdin, for any verb, end in a spec error object (or a valid answer), never an escaping exception.</summary>
public sealed class CniFuzzTests
{
    private static readonly string[] Seeds =
    [
        """{"cniVersion":"1.0.0","name":"net","type":"recorder"}""",
        """{"cniVersion":"1.1.0","name":"net","type":"recorder","prevResult":{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.0.0.5/32"}]},"cni.dev/valid-attachments":[{"containerID":"c","ifname":"eth0"}]}""",
        """{"cniVersion":"0.2.0","name":"net","type":"recorder","ipam":{"type":"host-local"},"dns":{"nameservers":["1.1.1.1"]},"capabilities":{"portMappings":true}}""",
    ];

    private static readonly string[] Commands = ["ADD", "DEL", "CHECK", "VERSION", "STATUS", "GC"];

    [Fact]
    public async Task RunAsync_RandomBytes_AlwaysSpecErrorOrValidOutput()
    {
        var random = new Random(20261126);
        for (var i = 0; i < 1500; i++)
        {
            var bytes = new byte[random.Next(0, 200)];
            random.NextBytes(bytes);
            await AssertWellBehavedAsync(Commands[i % Commands.Length], bytes);
        }
    }

    [Fact]
    public async Task RunAsync_MutatedConfigs_AlwaysSpecErrorOrValidOutput()
    {
        var random = new Random(42);
        const string Alphabet = "{}[]\":,0123456789.-/ abcnulltruefalse\\\u00e9";
        for (var i = 0; i < 3000; i++)
        {
            var text = new StringBuilder(Seeds[i % Seeds.Length]);
            var mutations = random.Next(1, 6);
            for (var m = 0; m < mutations && text.Length > 0; m++)
            {
                var at = random.Next(text.Length);
                switch (random.Next(3))
                {
                    case 0:
                        text.Remove(at, Math.Min(random.Next(1, 8), text.Length - at));
                        break;
                    case 1:
                        text.Insert(at, Alphabet[random.Next(Alphabet.Length)]);
                        break;
                    default:
                        text[at] = Alphabet[random.Next(Alphabet.Length)];
                        break;
                }
            }

            await AssertWellBehavedAsync(Commands[i % Commands.Length], Encoding.UTF8.GetBytes(text.ToString()));
        }
    }

    [Fact]
    public void Parse_RandomBytes_OnlyCniExceptions()
    {
        var random = new Random(7);
        for (var i = 0; i < 2000; i++)
        {
            var bytes = new byte[random.Next(0, 120)];
            random.NextBytes(bytes);
            if (i % 2 == 0 && bytes.Length > 2)
            {
                bytes[0] = (byte)'{';
                bytes[^1] = (byte)'}';
            }

            Only(() => NetworkConfig.Parse(bytes));
            Only(() => NetworkConfigList.Parse(bytes));
            Only(() => CniResult.Parse(bytes));
            Only(() => CniVersionResult.Parse(bytes));
            Only(() => CniError.Parse(bytes));
        }

        static void Only(Action parse)
        {
            try
            {
                parse();
            }
            catch (CniException)
            {
            }
        }
    }

    private static async Task AssertWellBehavedAsync(string command, byte[] stdin)
    {
        var env = new Dictionary<string, string?>
        {
            ["CNI_COMMAND"] = command, ["CNI_CONTAINERID"] = "c", ["CNI_NETNS"] = "/n", ["CNI_IFNAME"] = "eth0", ["CNI_PATH"] = "/p",
        };
        using var input = new MemoryStream(stdin);
        using var output = new MemoryStream();

        var exit = await new CniPluginRunner(new CniPluginRunnerTests.RecordingPlugin()).RunAsync(env, input, output, TestContext.Current.CancellationToken);

        var stdout = output.ToArray();
        if (exit == 0)
        {
            if (command == "ADD")
            {
                CniResult.Parse(stdout).Ips.Should().NotBeEmpty();
            }
            else if (command == "VERSION")
            {
                CniVersionResult.Parse(stdout).SupportedVersions.Should().NotBeEmpty();
            }
            else
            {
                stdout.Should().BeEmpty();
            }
        }
        else
        {
            exit.Should().Be(1);
            var error = CniError.Parse(stdout);
            error.Code.Should().BeOneOf(1, 2, 4, 5, 6, 7);
            error.Msg.Should().NotBeNullOrEmpty();
        }
    }
}
