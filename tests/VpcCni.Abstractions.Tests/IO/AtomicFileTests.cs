using System.Text;
using VpcCni.IO;

namespace VpcCni.Tests.IO;

public sealed class AtomicFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vpccni-atomic-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Write_NewFile_HasContentAndModeAndNoTempLeft()
    {
        var path = Path.Combine(_dir, "sub", "10-aws.conflist");

        AtomicFile.Write(path, "{}"u8, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        File.ReadAllText(path).Should().Be("{}");
        File.GetUnixFileMode(path).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Directory.GetFiles(Path.Combine(_dir, "sub")).Should().ContainSingle();
    }

    [Fact]
    public void Write_ExistingFile_IsReplacedWholeAsNewInode()
    {
        var path = Path.Combine(_dir, "f");
        File.WriteAllText(path, "old content that is longer");
        using var reader = File.OpenRead(path);

        AtomicFile.Write(path, Encoding.UTF8.GetBytes("new"));

        File.ReadAllText(path).Should().Be("new");
        new StreamReader(reader).ReadToEnd().Should().Be("old content that is longer", "an open reader keeps the old file");
    }

    [Fact]
    public void Copy_KeepsSourceMode()
    {
        var source = Path.Combine(_dir, "plugin");
        File.WriteAllText(source, "#!/bin/sh\n");
        File.SetUnixFileMode(source, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);

        AtomicFile.Copy(source, Path.Combine(_dir, "bin", "vpc-cni"));

        File.GetUnixFileMode(Path.Combine(_dir, "bin", "vpc-cni")).Should().Be(File.GetUnixFileMode(source));
    }

    [Fact]
    public void SyncDirectory_ExistingDirectory_Succeeds()
    {
        var act = () => AtomicFile.SyncDirectory(_dir);
        act.Should().NotThrow();
    }

    [Fact]
    public void SyncDirectory_Missing_ThrowsNamingIt()
    {
        var act = () => AtomicFile.SyncDirectory(Path.Combine(_dir, "missing"));
        act.Should().Throw<IOException>().WithMessage("*missing*");
    }
}
