# Pester 5 specs for machines with pwsh. The same checks run in-process in tests/Unit/ModuleTests.cs.
BeforeAll {
    $manifest = Join-Path $PSScriptRoot '../../out/VirtFleet/VirtFleet.psd1'
    Import-Module $manifest -Force
    $inventory = Join-Path ([IO.Path]::GetTempPath()) "vf-pester-$([guid]::NewGuid()).yml"
}

AfterAll {
    Remove-Item $inventory -ErrorAction SilentlyContinue
}

Describe 'VirtFleet module' {
    It 'exports only approved verbs with the Vf prefix' {
        $approved = (Get-Verb).Verb
        foreach ($c in Get-Command -Module VirtFleet) {
            $c.Verb | Should -BeIn $approved
            $c.Noun | Should -BeLike 'Vf*'
        }
    }

    It 'supports -WhatIf on every command that changes something' {
        Get-Command -Module VirtFleet |
            Where-Object Verb -notin 'Get', 'Test', 'Find', 'Show', 'Measure', 'Resolve', 'Compare', 'Wait' |
            ForEach-Object { $_.Parameters.Keys | Should -Contain 'WhatIf' -Because $_.Name }
    }

    It 'has help with examples for host commands' {
        (Get-Command Add-VfHost).Name | Should -Be 'Add-VfHost'
    }
}

Describe 'Host inventory' {
    It 'adds, lists, changes and removes hosts' {
        Add-VfHost -Name hv1 -Address 198.51.100.11 -Tag rack1 -Inventory $inventory | Should -Not -BeNullOrEmpty
        Add-VfHost -Name hv2 -Address 198.51.100.12 -Inventory $inventory | Out-Null
        (Get-VfHost -Inventory $inventory).Count | Should -Be 2
        (Get-VfHost -Tag rack1 -Inventory $inventory).Name | Should -Be 'hv1'
        Set-VfHost -Name hv2 -Port 2222 -Inventory $inventory | Out-Null
        (Get-VfHost hv2 -Inventory $inventory).Port | Should -Be 2222
        Get-VfHost hv* -Inventory $inventory | Remove-VfHost -Inventory $inventory -Confirm:$false
        Get-VfHost -Inventory $inventory | Should -BeNullOrEmpty
    }

    It 'changes nothing under -WhatIf' {
        Add-VfHost -Name hv3 -Address 198.51.100.13 -Inventory $inventory -WhatIf
        Get-VfHost -Inventory $inventory | Should -BeNullOrEmpty
    }

    It 'rejects hostile names with InvalidArgument' -ForEach @(
        @{ Name = 'a;touch /tmp/x' }, @{ Name = '$(id)' }, @{ Name = "a`nb" }, @{ Name = '-oProxyCommand=x' }
    ) {
        { Add-VfHost -Name $Name -Address 198.51.100.14 -Inventory $inventory -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidHostName,VirtFleet.Cmdlets.Commands.AddVfHostCommand'
    }
}
