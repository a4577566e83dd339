# backstop for PowerShell: every command line is checked by backstop before it runs.
#
# Loaded from the profile by `Invoke-Expression (& BACKSTOP init powershell | Out-String)`.
# The console host reads each line by calling PSConsoleHostReadLine, so wrapping that
# function covers every key that accepts a line (Enter, Ctrl+M, Ctrl+O, vi mode), where
# a key handler on Enter would not. A refused line comes back as an empty line, which
# runs nothing. If backstop itself fails, the line runs after a one-line warning: a
# broken hook must never leave the person without a shell.
#
# This file is checked by a PowerShell grammar and by reading, never by a real
# PowerShell (none can be installed where backstop is tested); see docs/shells.md.

# A child scope, so that nothing but $global:__backstop and the two functions is left behind.
& {
    Set-StrictMode -Off
    if ($null -ne (Get-Variable -Name '__backstop' -Scope Global -ErrorAction Ignore)) {
        # Loaded again (a profile run twice): the wrappers stay, wrapping them again would loop.
        $global:__backstop.Bin = @BACKSTOP_BIN@
        $global:__backstop.Pending = @BACKSTOP_PENDING@
    }
    elseif ($ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage') {
        # Starting a process needs .NET calls that constrained language mode forbids.
        Write-Warning ("backstop: PowerShell runs in $($ExecutionContext.SessionState.LanguageMode) mode here, where backstop cannot run; command lines in this session are not checked")
    }
    elseif ($Host.Name -ne 'ConsoleHost') {
        # Only the console host reads lines through PSConsoleHostReadLine (the VS Code extension's does not).
        Write-Warning ("backstop: the PowerShell host '$($Host.Name)' does not read command lines through PSConsoleHostReadLine; command lines in this session are not checked")
    }
    else {
        $existingReadLine = Get-Command -Name 'PSConsoleHostReadLine' -CommandType Function -ErrorAction Ignore
        $existingPrompt = Get-Command -Name 'prompt' -CommandType Function -ErrorAction Ignore
        $global:__backstop = @{
            Bin = @BACKSTOP_BIN@
            Pending = @BACKSTOP_PENDING@
            # The function the host called before: PSReadLine's own (which calls
            # [Microsoft.PowerShell.PSConsoleReadLine]::ReadLine with the arguments its
            # version takes), or another tool's wrapper of it, which keeps working.
            ReadLine = $null
            Prompt = $null
            # Whether the line just read went through backstop, and the history id the
            # last prompt saw (none before the first prompt, since a -Command given with
            # -NoExit runs and enters history after the profile): a line that ran without
            # passing here means something replaced PSConsoleHostReadLine after backstop.
            Read = $false
            HistoryId = -1
            Warned = $false
            # Runs backstop with the console as its own (the approval question and the
            # refusal are written straight to the terminal, unbuffered) and returns its
            # exit status; throws if it cannot be started.
            Run = {
                param([string]$Arguments, $Line)
                $startInfo = [System.Diagnostics.ProcessStartInfo]::new($global:__backstop.Bin, $Arguments)
                $startInfo.UseShellExecute = $false
                # PowerShell's location is not the process's current directory.
                $cwd = $ExecutionContext.SessionState.Path.CurrentFileSystemLocation.ProviderPath
                if ([System.IO.Directory]::Exists($cwd)) {
                    $startInfo.WorkingDirectory = $cwd
                }
                # In the child's environment only: no argument quoting to get wrong.
                if ($null -ne $Line) {
                    $startInfo.EnvironmentVariables['BACKSTOP_LINE'] = $Line
                }
                $process = [System.Diagnostics.Process]::Start($startInfo)
                try {
                    $process.WaitForExit()
                    [int]$process.ExitCode
                }
                finally {
                    $process.Dispose()
                }
            }
        }
        if ($null -ne $existingPrompt) {
            $global:__backstop.Prompt = $existingPrompt.ScriptBlock
        }
        else {
            $global:__backstop.Prompt = { "PS $($ExecutionContext.SessionState.Path.CurrentLocation)$('>' * ($NestedPromptLevel + 1)) " }
        }

        # Without PSReadLine there is no PSConsoleHostReadLine and the host reads lines
        # itself; backstop then stays out of the way.
        if ($null -ne $existingReadLine) {
            $global:__backstop.ReadLine = $existingReadLine.ScriptBlock

            function global:PSConsoleHostReadLine {
                # As PSReadLine's own: a debugger stepping through code must not stop in here.
                [System.Diagnostics.DebuggerHidden()]
                param()
                # First, before any statement here changes $?: PSReadLine reads it for its history.
                $backstopOutput = $global:__backstop.ReadLine.Invoke()
                Set-StrictMode -Off
                $backstopState = $global:__backstop
                $backstopState.Read = $true
                # Not one line (the host then reads one itself): passed on as the host would get it.
                if ($backstopOutput.Count -ne 1 -or $backstopOutput[0] -isnot [string]) {
                    return $backstopOutput
                }
                $backstopLine = [string]$backstopOutput[0]
                # Blank lines run nothing, so backstop is not started for them.
                if ([string]::IsNullOrWhiteSpace($backstopLine)) {
                    return $backstopLine
                }
                $backstopRun = $backstopState.Run
                $backstopStatus = -1
                $backstopWhy = $null
                # `r 12`, `ihy rm` and Invoke-History run an earlier line: that line is
                # what is decided (the most recent one when no id is given).
                $backstopChecked = $backstopLine
                if ($backstopLine -match '^\s*(r|ihy|invoke-history)(\s+(-id\s+)?(?<id>[^\s;|&]+))?\s*$') {
                    $backstopId = $Matches['id']
                    $backstopPast = $null
                    if ($null -eq $backstopId) {
                        $backstopPast = Get-History -Count 1
                    }
                    elseif ($backstopId -match '^\d+$') {
                        $backstopPast = Get-History -Id ([long]$backstopId) -ErrorAction Ignore
                    }
                    else {
                        $backstopPast = Get-History | Where-Object { $_.CommandLine.StartsWith($backstopId, [System.StringComparison]::OrdinalIgnoreCase) } | Select-Object -Last 1
                    }
                    if ($null -ne $backstopPast) {
                        $backstopChecked = [string]$backstopPast.CommandLine
                    }
                }
                try {
                    $backstopStatus = [int](& $backstopRun "hook --shell powershell --session $PID --line-env BACKSTOP_LINE" $backstopChecked)
                }
                catch {
                    $backstopWhy = $_.Exception.Message -replace '\s+', ' '
                }
                if ($backstopStatus -eq 0) {
                    return $backstopLine
                }
                if ($backstopStatus -eq 1 -or $backstopStatus -eq 2) {
                    # PSReadLine has already recorded the accepted line; add it only if it has not,
                    # so the person can recall the refused line and change it.
                    try {
                        $backstopHistory = [Microsoft.PowerShell.PSConsoleReadLine]::GetHistoryItems()
                        if ($backstopHistory.Count -eq 0 -or $backstopHistory[$backstopHistory.Count - 1].CommandLine -ne $backstopLine) {
                            [Microsoft.PowerShell.PSConsoleReadLine]::AddToHistory($backstopLine)
                        }
                    }
                    catch {
                    }
                    return ''
                }
                if ($null -eq $backstopWhy) {
                    $backstopWhy = "it exited with status $backstopStatus"
                }
                [Console]::Error.WriteLine("backstop: could not check this line ($backstopWhy); running it unchecked")
                return $backstopLine
            }
        }

        function global:prompt {
            # First, before any statement here changes $?.
            $backstopSucceeded = $global:?
            $backstopState = $global:__backstop
            $backstopRun = $backstopState.Run
            $backstopPrompt = $backstopState.Prompt

            # The hook leaves this file when a person approved the line that just ran.
            $backstopPending = [System.IO.Path]::Combine($backstopState.Pending, [string]$PID)
            if ([System.IO.File]::Exists($backstopPending)) {
                $backstopStatus = 1
                $backstopExit = Get-Variable -Name 'LASTEXITCODE' -Scope Global -ValueOnly -ErrorAction Ignore
                if ($backstopSucceeded) {
                    $backstopStatus = 0
                }
                elseif ($backstopExit -is [int] -and $backstopExit -ne 0) {
                    $backstopStatus = $backstopExit
                }
                try {
                    $null = & $backstopRun "hook --after --shell powershell --session $PID --status $backstopStatus" $null
                }
                catch {
                    [Console]::Error.WriteLine("backstop: could not report the approved line's exit status ($($_.Exception.Message -replace '\s+', ' '))")
                }
            }

            if ($null -ne $backstopState.ReadLine) {
                $backstopLast = Get-History -Count 1
                $backstopId = 0
                if ($null -ne $backstopLast) {
                    $backstopId = $backstopLast.Id
                }
                if ($backstopState.HistoryId -ge 0 -and $backstopId -ne $backstopState.HistoryId -and -not $backstopState.Read -and -not $backstopState.Warned) {
                    $backstopState.Warned = $true
                    [Console]::Error.WriteLine('backstop: a command line ran without being checked: something replaced PSConsoleHostReadLine after backstop was loaded (load backstop last in your profile)')
                }
                $backstopState.HistoryId = $backstopId
                $backstopState.Read = $false
            }

            # The wrapped prompt may show whether the last command failed: give it back its $?.
            if (-not $backstopSucceeded) {
                Write-Error -Message 'backstop: the last command failed' -ErrorAction Ignore
            }
            & $backstopPrompt
        }
    }
}
