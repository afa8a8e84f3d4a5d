using Microsoft.Extensions.Options;

namespace VpcCni.Aws;

/// <summary>
/// Options validation for settings classes whose rules live in their own <c>Validate()</c> (which callers building the
/// options by hand also use): a rule's exception message, naming the variable, becomes the validation failure.
/// </summary>
internal sealed class SettingsRulesValidator<TOptions>(Action<TOptions> validate) : IValidateOptions<TOptions>
    where TOptions : class
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        try
        {
            validate(options);
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException ex)
        {
            return ValidateOptionsResult.Fail(ex.Message);
        }
    }
}
