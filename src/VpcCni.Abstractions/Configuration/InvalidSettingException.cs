namespace VpcCni.Configuration;

/// <summary>A setting has a value the daemon cannot run with; the message names the variable.</summary>
public sealed class InvalidSettingException(string name, string value, string rule)
    : ArgumentException($"{name}=\"{value}\": {rule}")
{
    public string Name { get; } = name;
}
